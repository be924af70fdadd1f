"""The inbound pipeline's listener (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from integrations.inbound.tasks import inbound_media_queue
from tenants.events import DomainEvent


def inbound_media_fetch(event: DomainEvent) -> None:
    """A contact's photo, audio or document: fetched from the provider once the message is stored."""
    if event.name == "message.created" and getattr(event, "direction", "") == "INBOUND" and getattr(
            event, "has_media", False):
        inbound_media_queue(message_id=event.message_pk)  # type: ignore[attr-defined]
