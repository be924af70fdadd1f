"""LGPD (Brazil's data protection law, Lei 13.709/2018) for one contact and for a tenant.

- `contact_export`: everything the tenant holds about a person, as a zip: `contact.json` (the
  contact's fields, consent, addresses on channels, conversations and their messages with
  their times, directions and statuses, the attachments' details) and the attachments' files
  under `attachments/`. Built in a temporary file and streamed by the view; files beyond
  `LGPD_EXPORT_MAX_BYTES` in total are listed in the JSON but left out of the zip (and said so).
- `contact_anonymise`: the person's data removed for good: name, phone, email, picture,
  attributes and consent cleared, each address on a channel replaced by a meaningless unique
  one (`anon:<uuid>`), every message's text and details emptied (marked
  `content_attributes.anonymised`), their files deleted. What the tenant counts stays: the
  conversations, and each message's direction, type, status and times. A later message from
  the same address finds no contact and makes a new one: nothing links it to the old history.
- `retention_set`: how long the tenant keeps messages and files (the retention task,
  conversations.services.retention, deletes what is older).

Contacts sit below conversations (the import layers): messages and attachments are reached
through the relations' names (contact.conversations → messages → attachments), never by
importing their models."""

from __future__ import annotations

import json
import logging
import re
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, AuditEntry, User
from config.errors import ConflictError, ValidationFailed
from config.ids import uuid7
from contacts.events import ContactUpdated
from contacts.merge import contact_label
from contacts.models import Contact, ContactIdentity
from tenants.events import publish
from tenants.models import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS, Tenant

logger = logging.getLogger(__name__)

ANONYMISED_ADDRESS_PREFIX = "anon:"
EXPORT_FORMAT_VERSION = 1


def _related_model(model: type[Model], relation: str) -> Any:
    return model._meta.get_field(relation).related_model


def _conversation_model() -> Any:
    return _related_model(Contact, "conversations")


def _message_model() -> Any:
    return _related_model(_conversation_model(), "messages")


def _attachment_model() -> Any:
    return _related_model(_message_model(), "attachments")


# --- Export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactExport:
    """A contact's export: the zip (a temporary file, at its start; the caller closes it)."""

    file: IO[bytes]
    file_name: str
    size: int
    conversations: int
    messages: int
    attachments: int
    files_included: int
    files_left_out: int


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "_", name or "").strip("._")
    return cleaned[:100] or "file"


def contact_export(*, contact: Contact, actor: User | None) -> ContactExport:
    """The zip of everything held about `contact` (see the module's docstring); audited as
    `contact.exported`. Whether the actor may see the contact is the caller's check."""
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the response, which closes it)
    try:
        return _export_write(contact=contact, actor=actor, archive=archive,
                             limit=settings.LGPD_EXPORT_MAX_BYTES)
    except BaseException:
        archive.close()
        raise


def _export_write(*, contact: Contact, actor: User | None, archive: IO[bytes], limit: int) -> ContactExport:
    conversations = contact.conversations.all().select_related("channel").order_by("created_at", "id")
    identities = contact.identities.all().select_related("channel").order_by("id")
    counts = {"conversations": 0, "messages": 0, "attachments": 0, "included": 0, "left_out": 0}
    included_bytes = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        conversation_rows = []
        for conversation in conversations:
            counts["conversations"] += 1
            message_rows = []
            messages = conversation.messages.all().prefetch_related("attachments").order_by("created_at", "id")
            for message in messages.iterator(chunk_size=500):
                counts["messages"] += 1
                attachment_rows = []
                for attachment in message.attachments.all():
                    counts["attachments"] += 1
                    path = None
                    left_out = None
                    if attachment.file:
                        size = attachment.size if attachment.size is not None else attachment.file.size
                        if included_bytes + size > limit:
                            left_out = "size_limit"
                        else:
                            path = f"attachments/{attachment.public_id}/{_safe_name(attachment.file_name)}"
                            try:
                                with attachment.file.open("rb") as source, zipped.open(path, "w", force_zip64=True) as target:
                                    while chunk := source.read(1 << 20):
                                        target.write(chunk)
                                included_bytes += size
                            except OSError:
                                logger.warning("export of contact %s: file of attachment %s unreadable",
                                               contact.public_id, attachment.public_id)
                                path, left_out = None, "unreadable"
                    if path:
                        counts["included"] += 1
                    elif left_out:
                        counts["left_out"] += 1
                    attachment_rows.append({
                        "id": str(attachment.public_id), "file_name": attachment.file_name,
                        "content_type": attachment.content_type, "size": attachment.size,
                        "external_url": attachment.external_url, "created_at": _iso(attachment.created_at),
                        "file_in_export": path, "left_out": left_out,
                    })
                message_rows.append({
                    "id": str(message.public_id), "direction": message.direction, "sender_type": message.sender_type,
                    "type": message.type, "content": message.content, "content_attributes": message.content_attributes,
                    "metadata": message.metadata, "private_note": message.private, "status": message.status,
                    "error_code": message.error_code, "created_at": _iso(message.created_at),
                    "sent_at": _iso(message.sent_at), "delivered_at": _iso(message.delivered_at),
                    "read_at": _iso(message.read_at), "deleted_at": _iso(message.deleted_at),
                    "attachments": attachment_rows,
                })
            conversation_rows.append({
                "id": str(conversation.public_id),
                "channel": {"id": str(conversation.channel.public_id), "name": conversation.channel.name,
                            "kind": conversation.channel.kind},
                "status": conversation.status, "priority": conversation.priority,
                "created_at": _iso(conversation.created_at), "last_activity_at": _iso(conversation.last_activity_at),
                "messages": message_rows,
            })
        document = {
            "format": "inbox.contact-export", "version": EXPORT_FORMAT_VERSION,
            "exported_at": _iso(timezone.now()),
            "controller": {"name": contact.tenant.name},
            "contact": {
                "id": str(contact.public_id), "name": contact.name, "phone": contact.phone, "email": contact.email,
                "language": contact.language, "attributes": contact.attributes, "picture_url": contact.picture_url,
                "created_at": _iso(contact.created_at), "updated_at": _iso(contact.updated_at),
                "anonymised_at": _iso(contact.anonymised_at),
                "consent": {"given_at": _iso(contact.consent_at), "source": contact.consent_source},
            },
            "identities": [{"channel": {"id": str(identity.channel.public_id), "name": identity.channel.name,
                                        "kind": identity.channel.kind},
                            "external_id": identity.external_id, "created_at": _iso(identity.created_at)}
                           for identity in identities],
            "conversations": conversation_rows,
            "attachment_files": {"included": counts["included"], "left_out": counts["left_out"],
                                 "limit_bytes": limit},
        }
        zipped.writestr("contact.json", json.dumps(document, ensure_ascii=False, indent=2))
    size = archive.tell()
    archive.seek(0)
    audit_record(tenant=contact.tenant_id, action=AuditAction.CONTACT_EXPORTED, actor=actor,
                 target=AuditTarget("contact", str(contact.public_id), contact_label(contact)),
                 details={"format": "zip", "conversations": counts["conversations"], "messages": counts["messages"],
                          "attachments": counts["attachments"], "files_included": counts["included"],
                          "files_left_out": counts["left_out"], "bytes": size})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ContactExport(file=archive, file_name=f"contact-{contact.public_id}-{stamp}.zip", size=size,
                         conversations=counts["conversations"], messages=counts["messages"],
                         attachments=counts["attachments"], files_included=counts["included"],
                         files_left_out=counts["left_out"])


# --- Anonymise -------------------------------------------------------------------------


@dataclass(frozen=True)
class AnonymisePlan:
    conversations: int
    messages: int
    attachments: int
    identities: int


def contact_anonymise_plan(*, contact: Contact) -> AnonymisePlan:
    """What anonymising the contact touches (the confirmation page says it)."""
    message_model, attachment_model = _message_model(), _attachment_model()
    return AnonymisePlan(
        conversations=contact.conversations.count(),
        messages=message_model.all_objects.filter(tenant_id=contact.tenant_id, conversation__contact=contact).count(),
        attachments=attachment_model.all_objects.filter(
            tenant_id=contact.tenant_id, message__conversation__contact=contact).count(),
        identities=contact.identities.count(),
    )


def _files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("file %s could not be deleted", name, exc_info=True)


@transaction.atomic
def contact_anonymise(*, contact: Contact, actor: User | None) -> Contact:
    """Remove the person's data for good (see the module's docstring). Irreversible."""
    contact = Contact.all_objects.select_for_update().get(pk=contact.pk)
    if contact.anonymised_at is not None:
        raise ConflictError(_("This contact is already anonymised."), code="contact_anonymised")
    message_model, attachment_model = _message_model(), _attachment_model()
    messages = message_model.all_objects.filter(tenant_id=contact.tenant_id, conversation__contact=contact)
    attachments = attachment_model.all_objects.filter(tenant_id=contact.tenant_id,
                                                      message__conversation__contact=contact)
    files = [name for name in attachments.exclude(file="").values_list("file", flat=True) if name]
    attachment_count = attachments.count()
    attachments.delete()
    message_count = messages.update(content="", content_attributes={"anonymised": True}, metadata={},
                                    error_message="", updated_at=timezone.now())
    conversation_count = contact.conversations.all().update(last_message_preview="", updated_at=timezone.now())

    identities = list(contact.identities.all())
    for identity in identities:
        identity.external_id = f"{ANONYMISED_ADDRESS_PREFIX}{uuid7().hex}"
    ContactIdentity.all_objects.bulk_update(identities, ["external_id"])

    contact.name = contact.phone = contact.email = contact.picture_url = contact.consent_source = ""
    contact.attributes = {}
    contact.consent_at = None
    contact.name_set_by_hand = True  # no provider names it again
    contact.anonymised_at = timezone.now()
    changed = ("name", "phone", "email", "picture_url", "attributes", "consent_at", "consent_source",
               "anonymised_at")
    contact.save(update_fields=[*changed, "name_set_by_hand", "updated_at"])

    # The entry names the contact by its id only: the log must not keep what was removed.
    audit_record(tenant=contact.tenant_id, action=AuditAction.CONTACT_ANONYMISED, actor=actor,
                 target=AuditTarget("contact", str(contact.public_id), f"#{contact.public_id.hex[-8:]}"),
                 details={"conversations": conversation_count, "messages": message_count,
                          "attachments": attachment_count, "identities": len(identities)})
    publish(ContactUpdated(tenant_pk=contact.tenant_id, contact_pk=contact.pk, contact_id=str(contact.public_id),
                           changed=changed))
    # Files go once the rows are gone for good (a rollback keeps both).
    transaction.on_commit(lambda: _files_delete(files))
    return contact


# --- Retention settings ----------------------------------------------------------------


def _days(value: int | None, field: str) -> int | None:
    if not value:
        return None
    if not RETENTION_MIN_DAYS <= value <= RETENTION_MAX_DAYS:
        message = _("Keep them from %(min)d to %(max)d days, or leave it empty to keep them for ever.") % {
            "min": RETENTION_MIN_DAYS, "max": RETENTION_MAX_DAYS}
        raise ValidationFailed(message, details={field: [message]})
    return value


@transaction.atomic
def retention_set(*, tenant: Tenant, actor: User | None, message_days: int | None,
                  attachment_days: int | None) -> Tenant:
    """How many days the tenant keeps messages and files (None or 0: for ever); audited."""
    wanted = {"message_retention_days": _days(message_days, "message_retention_days"),
              "attachment_retention_days": _days(attachment_days, "attachment_retention_days")}
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    changes = {name: {"from": getattr(tenant, name), "to": value} for name, value in wanted.items()
               if getattr(tenant, name) != value}
    if changes:
        for name in changes:
            setattr(tenant, name, wanted[name])
        tenant.save(update_fields=[*changes, "updated_at"])
        audit_record(tenant=tenant, action=AuditAction.SETTINGS_CHANGED, actor=actor,
                     target=AuditTarget("tenant", str(tenant.public_id), tenant.name), details=changes)
    return tenant


def retention_last_run(*, tenant: Tenant) -> AuditEntry | None:
    """The retention task's last report for the tenant (its audit entry), if it ever ran."""
    return (AuditEntry.all_objects.filter(tenant=tenant, action=AuditAction.RETENTION_APPLIED)
            .order_by("-created_at", "-id").first())
