"""The `api` channel: an integrator is the provider. Contacts' messages come in through
POST /api/v1/channels/{id}/messages; agents' replies go out as events (the integrator's
WebSocket, and outbound webhooks), so the adapter counts them as sent once handed over."""
