from __future__ import annotations

import re

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.access import TenantAccess
from channels_app.selectors import channel_ids_worked_by
from contacts.models import Contact, ContactIdentity
from contacts.phones import InvalidPhone, phone_normalize
from tenants.models import Tenant


def contact_search_q(*, tenant: Tenant, text: str, prefix: str = "") -> Q:
    """Matches a contact by name, email or phone (written any way: it is normalised to
    E.164 when it is a whole number, and matched by digits when it is a part of one)."""
    text = text.strip()
    query = Q(**{f"{prefix}name__icontains": text}) | Q(**{f"{prefix}email__icontains": text})
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and len(digits) >= len(re.sub(r"[\s().+\-]", "", text)):
        query |= Q(**{f"{prefix}phone__contains": digits})
        try:
            query |= Q(**{f"{prefix}phone": phone_normalize(text, default_region=tenant.default_country)})
        except InvalidPhone:
            pass
    return query


def contact_visible(*, access: TenantAccess) -> QuerySet[Contact]:
    """The contacts this member may see: all of the tenant's for managers and admins; for
    agents and viewers, as conversations are scoped, those on a channel they work (an identity
    there, or a conversation on it), and those on no channel yet (made by hand or through the
    API, not written to: nobody's channel hides them, and whoever made one goes on to open
    its first conversation)."""
    contacts = Contact.objects.all()
    if access.sees_all_channels:
        return contacts
    worked = channel_ids_worked_by(access=access)
    identities = ContactIdentity.all_objects.filter(contact_id=OuterRef("pk"))
    # Conversations by their relation's name: contacts sit below conversations.
    this_contact = Contact.all_objects.filter(pk=OuterRef("pk"))
    return contacts.filter(
        Exists(identities.filter(channel_id__in=worked))
        | Exists(this_contact.filter(conversations__channel_id__in=worked))
        | (~Exists(identities) & ~Exists(this_contact.filter(conversations__isnull=False)))
    )
