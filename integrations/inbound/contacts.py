"""Who a contact is, asked of its provider when it first writes without a name (a group's first
message names no group), and the groups of the numbers whose provider does not post their
changes, refreshed now and then (a renamed group): the provider is called outside any
transaction, and what it says is recorded as any ContactUpdate is."""

from __future__ import annotations

import logging

from channels_app.models import Channel
from contacts.models import ContactIdentity
from contacts.services import contacts_update_from_channel
from integrations.base import ProviderError
from integrations.registry import adapter_for, kinds_with

logger = logging.getLogger(__name__)


def contact_details_fetch_now(*, contact_id: int, channel_id: int) -> bool:
    """Ask the channel's provider who the contact at its first address there is, if it still
    has no name; whether the contact changed."""
    identity = ContactIdentity.all_objects.select_related("contact", "channel__tenant").filter(
        contact_id=contact_id, channel_id=channel_id).order_by("id").first()
    if identity is None or identity.contact.name:
        return False
    adapter = adapter_for(identity.channel)
    if adapter is None or not adapter.capabilities.contact_details:
        return False
    update = adapter.fetch_contact(identity.external_id)
    return update is not None and bool(contacts_update_from_channel(channel=identity.channel, updates=[update]))


def channel_groups_refresh(*, channel: Channel) -> int:
    """The channel's groups as its provider lists them now, recorded on the groups the inbox
    knows (a name typed by hand is kept); how many changed."""
    adapter = adapter_for(channel)
    if adapter is None or not adapter.capabilities.groups_listed:
        return 0
    updates = adapter.groups_now()
    return len(contacts_update_from_channel(channel=channel, updates=updates)) if updates else 0


def channels_groups_refresh_all() -> int:
    """Celery beat: every connected channel whose provider lists its groups; how many groups
    changed. A channel whose provider cannot answer now is left for the next round."""
    changed = 0
    for channel in Channel.all_objects.select_related("tenant").filter(
            kind__in=kinds_with("groups_listed"), status=Channel.Status.CONNECTED,
            archived_at__isnull=True).order_by("pk"):
        try:
            changed += channel_groups_refresh(channel=channel)
        except ProviderError as error:
            logger.info("channel %s: groups not refreshed now: %s", channel.pk, error)
    return changed
