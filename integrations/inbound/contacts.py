"""Who a contact is, asked of its provider when it first writes without a name (a group's first
message names no group): the provider is called after the message is stored, outside any
transaction, and what it says is recorded as any ContactUpdate is."""

from __future__ import annotations

from contacts.models import ContactIdentity
from contacts.services import contacts_update_from_channel
from integrations.registry import adapter_for


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
