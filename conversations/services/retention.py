"""Retention: each tenant's messages and files older than it keeps them are deleted (LGPD).

`Tenant.message_retention_days`: messages older than that many days are deleted, with their
attachments and the attachments' files in storage. `Tenant.attachment_retention_days`:
attachments older than that are deleted (rows and files), their messages stay (their type
still says there was a picture or a document). None: kept for ever.

Conversations are kept, even once all their messages are gone: their status, channel,
contact, assignee, labels and times stay for the tenant's reports, and a conversation that
the contact writes to again carries on. A conversation left without messages loses its last
message's preview (that text is gone too).

Work goes in batches of RETENTION_BATCH_SIZE rows, a transaction each, so that a tenant with
millions of old messages never holds a long lock; files are deleted once their rows' deletion
committed (a failed batch keeps both). Run by Celery beat (`purge-messages`, conversations.tasks)
every RETENTION_PURGE_SECONDS; each tenant with a retention gets an audit entry
(`retention.applied`) with what was removed, which its privacy settings page shows."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction
from conversations.models import Attachment, Conversation, Message
from tenants.models import Tenant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    """What the retention removed from one tenant."""

    messages: int = 0
    attachments: int = 0
    files: int = 0


def _files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("retention: file %s could not be deleted", name, exc_info=True)


def _attachments_delete(attachments: Iterable[Attachment]) -> tuple[int, int]:
    """Delete these attachment rows (in the caller's transaction) and, after commit, their files."""
    rows = list(attachments)
    files = [attachment.file.name for attachment in rows if attachment.file and attachment.file.name]
    Attachment.all_objects.filter(pk__in=[attachment.pk for attachment in rows]).delete()
    transaction.on_commit(lambda: _files_delete(files))
    return len(rows), len(files)


def _old_attachments_delete(*, tenant: Tenant, cutoff: dt.datetime, batch: int) -> tuple[int, int]:
    removed = files = 0
    while True:
        with transaction.atomic():
            rows = list(Attachment.all_objects.filter(tenant=tenant, created_at__lt=cutoff)
                        .only("pk", "file").order_by("pk")[:batch])
            if not rows:
                return removed, files
            count, file_count = _attachments_delete(rows)
        removed, files = removed + count, files + file_count


def _old_messages_delete(*, tenant: Tenant, cutoff: dt.datetime, batch: int) -> tuple[int, int, int]:
    removed = attachments = files = 0
    while True:
        with transaction.atomic():
            rows = list(Message.all_objects.filter(tenant=tenant, created_at__lt=cutoff)
                        .values_list("pk", "conversation_id").order_by("pk")[:batch])
            if not rows:
                return removed, attachments, files
            pks = [pk for pk, _conversation in rows]
            count, file_count = _attachments_delete(
                Attachment.all_objects.filter(tenant=tenant, message_id__in=pks).only("pk", "file"))
            Message.all_objects.filter(reply_to_id__in=pks).exclude(pk__in=pks).update(reply_to=None)
            Message.all_objects.filter(pk__in=pks).delete()
            emptied = sorted({conversation for _pk, conversation in rows})
            Conversation.all_objects.filter(pk__in=emptied).exclude(
                Exists(Message.all_objects.filter(conversation_id=OuterRef("pk")))).update(last_message_preview="")
        removed, attachments, files = removed + len(pks), attachments + count, files + file_count


def tenant_retention_apply(*, tenant: Tenant, now: dt.datetime | None = None,
                           batch: int | None = None) -> RetentionReport:
    """Delete what `tenant` no longer keeps (never another tenant's rows); audited and logged."""
    now = now or timezone.now()
    batch = batch or settings.RETENTION_BATCH_SIZE
    messages = attachments = files = 0
    if tenant.message_retention_days:
        messages, attachments, files = _old_messages_delete(
            tenant=tenant, cutoff=now - dt.timedelta(days=tenant.message_retention_days), batch=batch)
    if tenant.attachment_retention_days:
        more, more_files = _old_attachments_delete(
            tenant=tenant, cutoff=now - dt.timedelta(days=tenant.attachment_retention_days), batch=batch)
        attachments, files = attachments + more, files + more_files
    report = RetentionReport(messages=messages, attachments=attachments, files=files)
    audit_record(tenant=tenant, action=AuditAction.RETENTION_APPLIED, actor=None,
                 target=AuditTarget("tenant", str(tenant.public_id), tenant.name),
                 details={"messages": messages, "attachments": attachments, "files": files,
                          "message_retention_days": tenant.message_retention_days,
                          "attachment_retention_days": tenant.attachment_retention_days})
    logger.info("retention of %s: %d messages and %d attachments (%d files) deleted", tenant.slug, messages,
                attachments, files)
    return report


def messages_retention_apply(*, now: dt.datetime | None = None) -> dict[str, RetentionReport]:
    """Apply every tenant's retention; what was removed, by tenant slug (tenants that keep
    everything for ever left out)."""
    now = now or timezone.now()
    reports: dict[str, RetentionReport] = {}
    tenants = Tenant.objects.filter(Q(message_retention_days__gt=0) | Q(attachment_retention_days__gt=0)).order_by("pk")
    for tenant in tenants:
        reports[tenant.slug] = tenant_retention_apply(tenant=tenant, now=now)
    return reports
