from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.access import TenantAccess
from channels_app.selectors import channel_ids_worked_by
from contacts.models import Contact, ContactIdentity
from contacts.search import search_terms
from tenants.models import Tenant


def contact_search_q(*, tenant: Tenant, text: str, prefix: str = "") -> Q:
    """Matches a contact by name, email or phone, accent- and case-insensitively ("joao" finds
    "João"); a phone by any run of its digits however it is written ("(11) 98765", "+55 11 9876").
    Every word typed must be found (contacts.search). `tenant` is the searching tenant (kept
    for callers; the text decides everything)."""
    terms = search_terms(text)
    if not terms:  # nothing searchable typed (only marks or spaces): nothing found, never everything
        return Q(**{f"{prefix}pk__in": []})
    query = Q()
    for term in terms:
        query &= Q(**{f"{prefix}search_text__contains": term})
    return query


@dataclasses.dataclass(frozen=True)
class ContactFilters:
    """The contacts page's filters (also an export's)."""

    text: str = ""
    channel_id: uuid.UUID | None = None
    has_phone: bool | None = None
    has_email: bool | None = None
    created_since: dt.datetime | None = None
    created_before: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return any(value not in (None, "") for value in dataclasses.astuple(self))


def contact_filter(contacts: QuerySet[Contact], *, tenant: Tenant, filters: ContactFilters) -> QuerySet[Contact]:
    if filters.text.strip():
        contacts = contacts.filter(contact_search_q(tenant=tenant, text=filters.text))
    if filters.channel_id is not None:
        this_contact = Contact.all_objects.filter(pk=OuterRef("pk"))
        contacts = contacts.filter(
            Exists(ContactIdentity.all_objects.filter(contact_id=OuterRef("pk"), channel__public_id=filters.channel_id))
            | Exists(this_contact.filter(conversations__channel__public_id=filters.channel_id)))
    if filters.has_phone is not None:
        contacts = contacts.exclude(phone="") if filters.has_phone else contacts.filter(phone="")
    if filters.has_email is not None:
        contacts = contacts.exclude(email="") if filters.has_email else contacts.filter(email="")
    if filters.created_since is not None:
        contacts = contacts.filter(created_at__gte=filters.created_since)
    if filters.created_before is not None:
        contacts = contacts.filter(created_at__lt=filters.created_before)
    return contacts


@dataclasses.dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    # The cursors of the pages around this one (None: there is none that way).
    newer: uuid.UUID | None
    older: uuid.UUID | None


def contact_page(contacts: QuerySet[Contact], *, after: uuid.UUID | None = None, before: uuid.UUID | None = None,
                 size: int = 50) -> ContactPage:
    """One page of `contacts`, newest first, by keyset: the page after the contact `after`
    (older ones) or before the contact `before` (newer ones), never an OFFSET nor a COUNT of
    the whole table: each page costs the same at the millionth contact (index contact_tenant_newest)."""
    contacts = contacts.prefetch_related("identities__channel")
    if before is not None:
        found = list(contacts.filter(public_id__gt=before).order_by("public_id")[: size + 1])
        more_newer = len(found) > size
        rows = list(reversed(found[:size]))
        return ContactPage(rows, newer=rows[0].public_id if more_newer and rows else None,
                           older=rows[-1].public_id if rows else before)
    if after is not None:
        contacts = contacts.filter(public_id__lt=after)
    found = list(contacts.order_by("-public_id")[: size + 1])
    rows = found[:size]
    return ContactPage(rows, newer=rows[0].public_id if after is not None and rows else None,
                       older=rows[-1].public_id if len(found) > size else None)


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


def contact_channels_visible(*, access: TenantAccess, contact: Contact) -> QuerySet[ContactIdentity]:
    """The contact's addresses on the channels this member may see, with their channels."""
    identities = contact.identities.select_related("channel").order_by("channel__name", "external_id")
    if not access.sees_all_channels:
        identities = identities.filter(channel_id__in=channel_ids_worked_by(access=access))
    return identities


def contact_conversations_visible(*, access: TenantAccess, contact: Contact) -> QuerySet[Any]:
    """The contact's conversations across the channels this member may see, latest first (by
    their relation: conversations sit above contacts)."""
    conversations = contact.conversations.select_related("channel", "assignee")  # type: ignore[attr-defined]
    if not access.sees_all_channels:
        conversations = conversations.filter(channel_id__in=channel_ids_worked_by(access=access))
    return conversations.order_by("-last_activity_at", "-id")
