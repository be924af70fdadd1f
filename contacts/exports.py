"""Contacts exported to a CSV file by a Celery task (contacts.tasks): the contacts the member
who asked sees, with the contacts page's filters, written to the storage under a random name
and served only to members who may read it (contacts.views, contacts.transfer_api)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import TenantAccess, tenant_access_resolve
from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, User
from config.errors import PermissionDeniedError
from contacts.models import Contact, ExportJob, ImportJob
from contacts.selectors import ContactFilters, contact_filter, contact_visible
from tenants.models import Tenant
from tenants.scoping import tenant_context

EXPORT_COLUMNS = ("id", "name", "phone", "email", "language", "consent_at", "consent_source", "channels",
                  "attributes", "created_at", "updated_at")


def export_filters_dump(filters: ContactFilters) -> dict[str, Any]:
    return {key: (value.isoformat() if isinstance(value, dt.datetime) else
                  str(value) if isinstance(value, uuid.UUID) else value)
            for key, value in vars(filters).items() if value not in (None, "")}


def export_filters_load(data: dict[str, Any]) -> ContactFilters:
    values: dict[str, Any] = dict(data)
    if values.get("channel_id"):
        values["channel_id"] = uuid.UUID(values["channel_id"])
    for key in ("created_since", "created_before"):
        if values.get(key):
            values[key] = dt.datetime.fromisoformat(values[key])
    return ContactFilters(**values)


def export_visible(*, access: TenantAccess) -> Any:
    """The exports this member may see and download: their own, and, for those who see every
    channel (and so every contact), all of the tenant's."""
    exports = ExportJob.objects.select_related("created_by")
    if access.key_channel_ids is not None:
        return exports.none()  # its maker's exports hold contacts of every channel
    return exports if access.sees_all_channels else exports.filter(created_by_id=access.user.pk)


@transaction.atomic
def export_job_create(*, access: TenantAccess, actor: User, filters: ContactFilters) -> ExportJob:
    """An export of the contacts `access` sees that match `filters`, queued (the caller queues its task)."""
    if access.key_channel_ids is not None:
        # The file is written later with its maker's access, which sees more than the key does.
        raise PermissionDeniedError(_("An API key limited to channels cannot export contacts: use the list, or a "
                                      "key for every channel."), code="api_key_channels_export")
    job = ExportJob.all_objects.create(tenant=access.tenant, created_by=actor, filters=export_filters_dump(filters))
    audit_record(tenant=access.tenant, action=AuditAction.EXPORT_CREATED, actor=actor,
                 target=AuditTarget("contact_export", str(job.public_id), "contacts.csv"),
                 details={"kind": "contacts", "filters": job.filters})
    return job


def export_job_run(*, job_pk: int) -> ExportJob:
    """Write the export's file. Its member's access is read again now: one who left exports nothing."""
    job = ExportJob.all_objects.select_related("tenant").get(pk=job_pk)
    if job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
        return job
    ExportJob.all_objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING)
    access = (tenant_access_resolve(user_id=job.created_by_id, tenant_id=job.tenant_id)
              if job.created_by_id is not None else None)
    if access is None or not access.has("contacts:read"):
        ExportJob.all_objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, failure="no_access",
                                                       finished_at=timezone.now())
        job.refresh_from_db()
        return job
    with tenant_context(job.tenant):
        content, count = _csv(access=access, tenant=job.tenant, filters=export_filters_load(job.filters))
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M")
    job.file.save(f"contacts-{stamp}-{job.public_id}.csv", ContentFile(content.encode("utf-8")), save=False)
    job.status, job.row_count, job.finished_at = ExportJob.Status.DONE, count, timezone.now()
    job.save(update_fields=["file", "status", "row_count", "finished_at"])
    return job


def contact_transfers_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the exports (and their files) and the imports older than CONTACT_TRANSFER_DAYS:
    copies of personal data nobody downloads any more. How many jobs were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.CONTACT_TRANSFER_DAYS)
    removed = 0
    for model in (ExportJob, ImportJob):
        for job in model.all_objects.filter(created_at__lt=cutoff).order_by("pk").iterator(chunk_size=500):
            if job.file:
                job.file.delete(save=False)
            job.delete()
            removed += 1
    return removed


def _csv(*, access: TenantAccess, tenant: Tenant, filters: ContactFilters) -> tuple[str, int]:
    contacts = contact_filter(contact_visible(access=access), tenant=tenant, filters=filters)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so that spreadsheet programs read it as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    last: uuid.UUID | None = None
    while True:  # by keyset, a page at a time: a million contacts are never held at once
        page = contacts.order_by("-public_id").prefetch_related("identities__channel")
        if last is not None:
            page = page.filter(public_id__lt=last)
        rows: list[Contact] = list(page[:2000])
        if not rows:
            return buffer.getvalue(), count
        for contact in rows:
            writer.writerow([_cell(value) for value in (
                str(contact.public_id), contact.name, contact.phone, contact.email, contact.language,
                contact.consent_at.isoformat() if contact.consent_at else "", contact.consent_source,
                " | ".join(sorted({identity.channel.name for identity in contact.identities.all()})),
                json.dumps(contact.attributes, ensure_ascii=False, sort_keys=True) if contact.attributes else "",
                contact.created_at.isoformat(), contact.updated_at.isoformat())])
        count += len(rows)
        last = rows[-1].public_id


def _cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection). A phone's
    leading + is the exception: E.164 is no formula to any spreadsheet that reads it as text."""
    if value[:1] == "+" and value[1:].isdigit():
        return value
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
