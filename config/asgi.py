"""HTTP and WebSockets from one ASGI application: `config.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from config import embedded  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from conversations.realtime import use_background_sender  # noqa: E402
from integrations.inbound.ingress import WebhookIngress  # noqa: E402
from integrations.inbound.ratelimit import WebhookRateLimit  # noqa: E402

# Requests hand their real-time events to a sender of their own and answer at once.
use_background_sender()

if settings.EMBEDDED_SCHEDULER:  # the embedded default: beat and delayed retries in this process
    embedded.start()

application = ProtocolTypeRouter(
    {
        "http": WebhookRateLimit(WebhookIngress(django_asgi_app)),
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
