"""The inbound pipeline's listeners (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from channels_app.models import Channel
from integrations.channel_cache import channel_kind
from integrations.inbound.tasks import contact_details_queue, inbound_media_queue, missed_messages_queue
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


def missed_messages_fetch(event: DomainEvent) -> None:
    """A channel whose provider keeps messages, CONNECTED again after it was not (a session
    typically goes from closed through connecting to open, so any status before counts): what
    came meanwhile is fetched, once the status is stored."""
    channel_pk = getattr(event, "channel_pk", None)
    if (event.name == "channel.status_changed" and channel_pk is not None
            and getattr(event, "new_status", "") == Channel.Status.CONNECTED
            and getattr(event, "old_status", "") != Channel.Status.CONNECTED
            and channel_kind(channel_pk) in kinds_with("missed_messages")):
        missed_messages_queue(channel_id=channel_pk)
