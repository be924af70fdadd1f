"""WebSocket routes; the agents' and integrators' consumers join here."""

websocket_urlpatterns: list = []
