"""The embedded default: what `make run` uses."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
WHITENOISE_AUTOREFRESH = DEBUG
# A tenant's own provider server may be on this machine (a gateway tried locally).
PROVIDER_URL_ALLOW_PRIVATE = env.bool("PROVIDER_URL_ALLOW_PRIVATE", default=True)
