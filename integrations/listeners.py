"""The integrations' listener for channels themselves (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from integrations.channel_cache import channel_kind
from integrations.registry import kinds_with
from integrations.tasks import channel_provider_remove_queue, channel_templates_queue
from tenants.events import DomainEvent


def templates_sync(event: DomainEvent) -> None:
    """A new channel, or new settings of one, whose provider keeps templates: fetch them."""
    if event.name == "channel.created" or (event.name == "channel.updated"
                                           and {"config", "credentials"} & set(getattr(event, "changed", ()))):
        channel_pk: int = event.channel_pk  # type: ignore[attr-defined]
        if channel_kind(channel_pk) in kinds_with("templates"):
            channel_templates_queue(channel_id=channel_pk)


def provider_remove(event: DomainEvent) -> None:
    """An archived channel paired by QR code: what its provider keeps for it (the session, the
    instance) is deleted, so that the phone is no longer linked to a channel nobody works."""
    if event.name == "channel.archived":
        channel_pk: int = event.channel_pk  # type: ignore[attr-defined]
        if channel_kind(channel_pk) in kinds_with("qr_pairing"):
            channel_provider_remove_queue(channel_id=channel_pk)
