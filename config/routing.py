"""WebSocket routes. The inbox socket rides on the session cookie, so it only accepts
pages of our own origin; the integrators' socket authenticates with a JWT or an API key in its
first message, which no other site can forge, so it takes any origin (or none)."""

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from conversations.consumers import InboxConsumer, IntegratorConsumer

websocket_urlpatterns = [
    path("ws/inbox", AllowedHostsOriginValidator(InboxConsumer.as_asgi())),
    path("ws/v1/events", IntegratorConsumer.as_asgi()),
]
