from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, User
from channels_app.models import Channel
from config.errors import ConflictError, ValidationFailed
from contacts.events import ContactCreated, ContactUpdated
from contacts.incoming import ContactUpdate
from contacts.models import Contact, ContactIdentity
from contacts.phones import InvalidPhone, phone_normalize
from tenants.events import publish
from tenants.models import Tenant

_EDITABLE = ("name", "phone", "email", "language", "attributes", "consent_at", "consent_source")


def _clean(tenant: Tenant, fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    errors: dict[str, list[str]] = {}
    if "name" in cleaned:
        cleaned["name"] = (cleaned["name"] or "").strip()
    if cleaned.get("phone"):
        try:
            cleaned["phone"] = phone_normalize(cleaned["phone"], default_region=tenant.default_country)
        except InvalidPhone:
            errors["phone"] = [_("Not a valid phone number; write it with the country code, e.g. +55 11 98765-4321.")]
    elif "phone" in cleaned:
        cleaned["phone"] = ""
    if cleaned.get("email"):
        cleaned["email"] = cleaned["email"].strip().lower()
        try:
            validate_email(cleaned["email"])
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    elif "email" in cleaned:
        cleaned["email"] = ""
    if "attributes" in cleaned and not isinstance(cleaned["attributes"] or {}, dict):
        errors["attributes"] = ["Must be an object."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], details=errors)
    return cleaned


@transaction.atomic
def contact_create(*, tenant: Tenant, actor: User | None, **fields: Any) -> Contact:
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"unknown contact fields {sorted(unknown)}")
    cleaned = _clean(tenant, fields)
    contact = Contact.all_objects.create(tenant=tenant, name_set_by_hand=bool(cleaned.get("name")), **cleaned)
    publish(ContactCreated(tenant_pk=tenant.pk, contact_pk=contact.pk, contact_id=str(contact.public_id)))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: User | None, **fields: Any) -> Contact:
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"unknown contact fields {sorted(unknown)}")
    cleaned = _clean(contact.tenant, fields)
    changed = tuple(name for name, value in cleaned.items() if getattr(contact, name) != value)
    if contact.anonymised_at is not None and any(cleaned[name] for name in changed):
        # Forgotten for good (contacts.lgpd): nobody fills the person in again on this record.
        raise ConflictError(_("This contact was anonymised: their data cannot be filled in again."),
                            code="contact_anonymised")
    if changed:
        for name in changed:
            setattr(contact, name, cleaned[name])
        written = list(changed)
        if "name" in changed:  # a name typed by a person stays; cleared, the provider's may fill it again
            contact.name_set_by_hand = bool(contact.name)
            written.append("name_set_by_hand")
        contact.save(update_fields=[*written, "updated_at"])
        publish(ContactUpdated(tenant_pk=contact.tenant_id, contact_pk=contact.pk, contact_id=str(contact.public_id),
                                     changed=changed))
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: User | None) -> None:
    """Delete a contact and its addresses on channels. One with conversations is refused: its
    history belongs to the tenant's records (anonymising is the way to forget such a person)."""
    if contact.conversations.exists():
        raise ConflictError(_("This contact has conversations: they would be lost. Anonymise the contact instead."),
                            code="contact_has_conversations")
    label = contact.name or contact.phone or contact.email
    audit_record(tenant=contact.tenant_id, action=AuditAction.CONTACT_DELETED, actor=actor,
                 target=AuditTarget("contact", str(contact.public_id), label))
    contact.delete()


def contact_identity_resolve(
    *, channel: Channel, external_id: str, name: str = "", phone: str = "", email: str = "",
    aliases: Sequence[str] = (),
) -> ContactIdentity:
    """The contact behind `external_id` on `channel`, created on first sight. Safe under
    concurrent deliveries of the first message: the unique (channel, external_id) decides.

    `aliases` are other addresses of the same person on the channel (a messenger's private id next to
    the phone number): a contact known by one of them gets `external_id` too; a new contact
    gets them all, so that whichever arrives next finds it."""
    identity = ContactIdentity.all_objects.select_related("contact").filter(
        channel=channel, external_id=external_id
    ).first()
    if identity is not None:
        return identity
    aliases = [alias for alias in dict.fromkeys(aliases) if alias and alias != external_id]
    if aliases:
        known = ContactIdentity.all_objects.filter(channel=channel, external_id__in=aliases).order_by("id").first()
        if known is not None:
            try:
                with transaction.atomic():
                    return ContactIdentity.all_objects.create(tenant_id=channel.tenant_id, contact_id=known.contact_id,
                                                              channel=channel, external_id=external_id)
            except IntegrityError:
                return ContactIdentity.all_objects.select_related("contact").get(channel=channel,
                                                                                 external_id=external_id)
    try:
        with transaction.atomic():
            tenant = channel.tenant
            fields = {"name": name, "phone": phone, "email": email}
            try:
                cleaned = _clean(tenant, fields)
            except ValidationFailed:  # a provider's odd address still makes a contact
                cleaned = {"name": name.strip(), "email": "",
                           # the provider's own number for the person is authoritative, even when the
                           # numbering plan data does not know it (new ranges, test numbers)
                           "phone": phone if re.fullmatch(r"\+\d{8,15}", phone or "") else ""}
            contact = Contact.all_objects.create(tenant=tenant, **cleaned)
            identity = ContactIdentity.all_objects.create(
                tenant=tenant, contact=contact, channel=channel, external_id=external_id
            )
            ContactIdentity.all_objects.bulk_create(
                [ContactIdentity(tenant=tenant, contact=contact, channel=channel, external_id=alias)
                 for alias in aliases], ignore_conflicts=True)
            publish(ContactCreated(tenant_pk=tenant.pk, contact_pk=contact.pk, contact_id=str(contact.public_id),
                                   channel_pk=channel.pk))
            return identity
    except IntegrityError:
        return ContactIdentity.all_objects.select_related("contact").get(channel=channel, external_id=external_id)


def contacts_update_from_channel(*, channel: Channel, updates: Sequence[ContactUpdate]) -> list[Contact]:
    """What a channel's provider says of its contacts now (their names, a group's subject, their
    pictures), recorded on the contacts the channel knows, in the caller's transaction or one of
    its own, with one `contact.updated` per contact changed. A name typed by hand is kept. A
    contact the channel never heard from is not made: providers list whole address books, and
    the inbox keeps the people who write. The contacts changed."""
    wanted = {address for update in updates for address in (update.external_id, *update.aliases) if address}
    if not wanted:
        return []
    with transaction.atomic():
        by_address = dict(ContactIdentity.all_objects.filter(
            channel=channel, external_id__in=sorted(wanted)).values_list("external_id", "contact_id"))
        if not by_address:
            return []
        contacts = {contact.pk: contact for contact in Contact.all_objects.select_for_update().filter(
            tenant_id=channel.tenant_id, pk__in=sorted(set(by_address.values()))).order_by("pk")}
        changed: dict[int, list[str]] = {}
        for update in updates:
            contact_id = next((by_address[address] for address in (update.external_id, *update.aliases)
                               if address in by_address), None)
            contact = contacts.get(contact_id) if contact_id is not None else None
            if contact is not None:
                for field in _provider_changes(contact, update):
                    changed.setdefault(contact.pk, [])
                    if field not in changed[contact.pk]:
                        changed[contact.pk].append(field)
        for pk, fields in changed.items():
            contacts[pk].save(update_fields=[*fields, "updated_at"])
            publish(ContactUpdated(tenant_pk=channel.tenant_id, contact_pk=pk, contact_id=str(contacts[pk].public_id),
                                   changed=tuple(fields), channel_pk=channel.pk))
    return [contacts[pk] for pk in changed]


def _provider_changes(contact: Contact, update: ContactUpdate) -> list[str]:
    """Apply what a provider says to `contact` (in memory); the fields it changed."""
    changed = []
    name = " ".join((update.name or "").split())[:200]
    if name and not contact.name_set_by_hand and name != contact.name:
        contact.name = name
        changed.append("name")
    picture = _picture_url(update.picture_url)
    if picture is not None and not _same_picture(picture, contact.picture_url):
        contact.picture_url = picture
        changed.append("picture_url")
    return changed


def _picture_url(value: str | None) -> str | None:
    """A picture's http(s) address as it can be kept ("": none); None when there is nothing to keep."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc and len(value) <= 2000 else None


def _same_picture(new: str, old: str) -> bool:
    """A provider's picture links are signed for a while (their query changes on every look-up,
    for the same file): a link to the same file is not a new picture, and the contact is not
    written again for it on every message."""
    if not new or not old:
        return new == old
    before, after = urlsplit(old), urlsplit(new)
    return (before.scheme, before.netloc, before.path) == (after.scheme, after.netloc, after.path)
