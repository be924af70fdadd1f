"""The embedded default: what `make run` uses."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
WHITENOISE_AUTOREFRESH = DEBUG
# A tenant's own provider server may be on this machine (a gateway tried locally).
PROVIDER_URL_ALLOW_PRIVATE = env.bool("PROVIDER_URL_ALLOW_PRIVATE", default=True)
# An integrator trying webhooks locally receives them on this machine.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=True)
# No broker: Celery beat's schedule and delayed retries run on a thread of the web process
# (config.embedded), which eager tasks cannot wait for.
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=CELERY_TASK_ALWAYS_EAGER)  # noqa: F405
