"""Two contacts who are one person (a customer who wrote on WhatsApp and by email) become one.

The kept contact takes the other's conversations and addresses on channels; its own name,
phone, email, language, picture and attributes win, and only what it lacks is taken from the
other; consent given on either stays. The other contact is then deleted. One transaction,
one audit entry (`contact.merged`, both labels), one domain event (`contact.merged`) so that
the inbox redraws the rows of both.

Addresses: a (channel, address) pair names one contact (ContactIdentity's unique constraint),
so the merged contact's addresses move over as they are, also on a channel where the kept one
has an address of its own: both stay with the kept contact, so whichever of them writes next
lands on it, and the conversations of both are kept side by side.

Contacts sit below conversations (the import layers): conversations are reached through the
contact's `conversations` relation, never by importing their model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, User
from config.errors import ConflictError, ValidationFailed
from contacts.events import ContactMerged
from contacts.models import Contact
from tenants.events import publish

# What the kept contact takes from the other when it has none of its own.
FILLED_FIELDS = ("name", "phone", "email", "language", "picture_url")


@dataclass(frozen=True)
class MergePlan:
    """What merging `merge` into `keep` does (shown on the confirmation page, done by contact_merge)."""

    keep: Contact
    merge: Contact
    conversations: int
    identities: int
    # Fields the kept contact takes from the other: name → the other's value.
    filled: dict[str, str] = field(default_factory=dict)
    attributes_added: tuple[str, ...] = ()
    consent_taken: bool = False


def contact_label(contact: Contact) -> str:
    """What the audit log calls a contact once it may be gone."""
    return contact.name or contact.phone or contact.email or f"#{contact.public_id.hex[-8:]}"


def contact_merge_plan(*, keep: Contact, merge: Contact) -> MergePlan:
    """What merging would do; refuses what cannot be merged (the same contact, another tenant's,
    an anonymised one: merging it would give a forgotten history a name again)."""
    if keep.pk == merge.pk:
        raise ValidationFailed(_("Choose another contact: a contact cannot be merged with itself."),
                               code="same_contact", details={"other_id": [_("The same contact.")]})
    if keep.tenant_id != merge.tenant_id:  # callers look both up in the member's tenant: a bug
        raise ValidationFailed(_("Both contacts must belong to this account."), code="other_tenant",
                               details={"other_id": [_("Not found.")]})
    if keep.anonymised_at is not None or merge.anonymised_at is not None:
        raise ConflictError(_("An anonymised contact cannot be merged: its data is gone for good."),
                            code="contact_anonymised")
    filled = {name: getattr(merge, name) for name in FILLED_FIELDS
              if not getattr(keep, name) and getattr(merge, name)}
    keep_attributes = keep.attributes if isinstance(keep.attributes, dict) else {}
    merge_attributes = merge.attributes if isinstance(merge.attributes, dict) else {}
    return MergePlan(
        keep=keep, merge=merge,
        conversations=merge.conversations.count(),
        identities=merge.identities.count(),
        filled=filled,
        attributes_added=tuple(sorted(set(merge_attributes) - set(keep_attributes))),
        consent_taken=keep.consent_at is None and merge.consent_at is not None,
    )


@transaction.atomic
def contact_merge(*, keep: Contact, merge: Contact, actor: User | None) -> Contact:
    """Merge `merge` into `keep` (see the module's docstring); returns the kept contact.
    Whether the actor may see both is the caller's check (contacts.selectors.contact_visible)."""
    locked = {contact.pk: contact for contact in Contact.all_objects.select_for_update().filter(
        pk__in=sorted({keep.pk, merge.pk}), tenant_id=keep.tenant_id).order_by("pk")}
    if merge.pk not in locked or keep.pk not in locked:
        raise ValidationFailed(_("Both contacts must belong to this account."), code="other_tenant",
                               details={"other_id": [_("Not found.")]})
    keep, merge = locked[keep.pk], locked[merge.pk]
    plan = contact_merge_plan(keep=keep, merge=merge)

    changed: list[str] = []
    for name, value in plan.filled.items():
        setattr(keep, name, value)
        changed.append(name)
    if "name" in plan.filled:
        keep.name_set_by_hand = merge.name_set_by_hand
        changed.append("name_set_by_hand")
    if plan.attributes_added:
        merge_attributes: dict[str, Any] = merge.attributes
        keep.attributes = {**merge_attributes, **(keep.attributes or {})}
        changed.append("attributes")
    if plan.consent_taken:
        keep.consent_at, keep.consent_source = merge.consent_at, merge.consent_source
        changed += ["consent_at", "consent_source"]

    # Their updated_at moves, so that an integrator syncing conversations (updated_since) sees it.
    moved_conversations = merge.conversations.all().update(contact=keep, updated_at=timezone.now())
    moved_identities = merge.identities.all().update(contact=keep)
    merged_label, merged_id = contact_label(merge), str(merge.public_id)
    merge.delete()
    keep.save(update_fields=[*changed, "updated_at"])

    audit_record(tenant=keep.tenant_id, action=AuditAction.CONTACT_MERGED, actor=actor,
                 target=AuditTarget("contact", str(keep.public_id), contact_label(keep)),
                 details={"merged": {"id": merged_id, "label": merged_label},
                          "kept": {"id": str(keep.public_id), "label": contact_label(keep)},
                          "conversations": moved_conversations, "identities": moved_identities,
                          "fields": changed})
    publish(ContactMerged(tenant_pk=keep.tenant_id, contact_pk=keep.pk, contact_id=str(keep.public_id),
                          merged_contact_id=merged_id))
    return keep
