from __future__ import annotations

from collections.abc import Mapping

from integrations.base import ChannelAdapter, OutboundMessage, SendResult, WebhookBatch, WebhookRejected


class ApiChannelAdapter(ChannelAdapter):
    """The integrator is the provider: replies reach it as events (its WebSocket, outbound
    webhooks), so handing one over cannot fail and it counts as sent."""

    kind = "api"

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        raise WebhookRejected("API channels receive messages through POST /api/v1/channels/{id}/messages")

    def parse_webhook(self, body: bytes) -> WebhookBatch:
        return WebhookBatch()

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider_message_id=f"api-{message.message_id}")
