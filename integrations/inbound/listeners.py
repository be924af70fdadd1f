"""The inbound pipeline's listeners (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from integrations.channel_cache import channel_kind
from integrations.inbound.tasks import contact_details_queue, inbound_media_queue
from integrations.registry import kinds_with
from tenants.events import DomainEvent


def inbound_media_fetch(event: DomainEvent) -> None:
    """A contact's photo, audio or document: fetched from the provider once the message is stored."""
    if event.name == "message.created" and getattr(event, "direction", "") == "INBOUND" and getattr(
            event, "has_media", False):
        inbound_media_queue(message_id=event.message_pk)  # type: ignore[attr-defined]


def contact_details_fetch(event: DomainEvent) -> None:
    """A contact that first wrote on a channel whose provider can say who it is (a group, whose
    first message names no group): asked once the contact is stored."""
    channel_pk = getattr(event, "channel_pk", None)
    if event.name == "contact.created" and channel_pk is not None and channel_kind(channel_pk) in kinds_with(
            "contact_details"):
        contact_details_queue(contact_id=event.contact_pk, channel_id=channel_pk)  # type: ignore[attr-defined]
