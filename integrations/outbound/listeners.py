"""The outbound pipeline's listeners (settings.DOMAIN_EVENT_LISTENERS, called after the
event's transaction commits): an agent's reply goes to its channel's senders, and an agent who
read a conversation is reported to the provider."""

from __future__ import annotations

from integrations.channel_cache import channel_kind
from integrations.outbound.tasks import channel_senders_queue, read_receipt_queue
from integrations.registry import adapter_class_for
from tenants.events import DomainEvent


def replies_send(event: DomainEvent) -> None:
    """An agent's reply (or a failed one sent again): the channel's sender takes it."""
    if event.name == "message.created" and (getattr(event, "direction", "") != "OUTBOUND"
                                            or getattr(event, "private", True)):
        return
    if event.name in ("message.created", "message.retry_requested"):
        channel_pk: int = event.channel_pk  # type: ignore[attr-defined]
        if adapter_class_for(channel_kind(channel_pk) or "") is not None:
            channel_senders_queue(channel_id=channel_pk)


def read_receipts(event: DomainEvent) -> None:
    """An agent read a conversation: tell the provider, where it takes read receipts."""
    message_pk = getattr(event, "last_read_message_pk", None)
    if event.name == "conversation.read" and message_pk:
        adapter = adapter_class_for(channel_kind(event.channel_pk) or "")  # type: ignore[attr-defined]
        if adapter is not None and adapter.capabilities.read_receipts:
            read_receipt_queue(message_id=message_pk)
