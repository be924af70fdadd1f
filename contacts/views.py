"""The contacts pages: the list (search, filters, keyset pages), a contact (its addresses, its
conversations across channels, its edit form), CSV imports (upload, columns, progress) and
exports (queued, listed, downloaded). Each view parses, checks the member's role, calls a
selector or service, renders."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.sessions import InboxRequest, inbox_member_required
from channels_app.selectors import channel_list
from config.errors import ApplicationError, ConflictError, ValidationFailed
from config.ids import uuid_or_none
from contacts.exports import export_job_create, export_visible
from contacts.forms import ContactFilterForm, ContactForm, ImportMappingForm, ImportUploadForm
from contacts.imports import (
    import_error_message,
    import_job_create,
    import_job_map,
    import_job_sample,
    import_rejected_rows,
)
from contacts.models import Contact, ExportJob, ImportJob
from contacts.selectors import (
    contact_channels_visible,
    contact_conversations_visible,
    contact_filter,
    contact_page,
    contact_visible,
)
from contacts.services import contact_update
from contacts.tasks import contacts_export_queue, contacts_import_queue

PAGE_SIZE = 50
RECENT_JOBS = 20


def _refused(request: InboxRequest, permission: str) -> HttpResponse | None:
    if request.access.has(permission):
        return None
    message = (_("Your role does not allow editing or importing contacts.") if permission == "contacts:write"
               else _("Your role does not allow seeing contacts."))
    return render(request, "inbox/_error.html", {"message": message}, status=403)


def _render(request: InboxRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"access": request.access, "can_write": request.access.has("contacts:write"),
                                      **context}, status=status)


def _filter_form(request: InboxRequest) -> ContactFilterForm:
    channels = [(str(channel.public_id), channel.name)
                for channel in channel_list(access=request.access).order_by("name")]
    wanted = {key: value for key, value in request.GET.items() if key not in ("after", "before")}
    return ContactFilterForm(wanted or None, channels=channels)


@require_GET
@inbox_member_required
def contact_list(request: InboxRequest) -> HttpResponse:
    if (denied := _refused(request, "contacts:read")) is not None:
        return denied
    form = _filter_form(request)
    filters = form.filters()
    contacts = contact_filter(contact_visible(access=request.access), tenant=request.access.tenant, filters=filters)
    if form.is_bound and not form.is_valid():  # a filter that cannot be read matches nothing (its error shows)
        contacts = contacts.none()
    page = contact_page(contacts, after=uuid_or_none(request.GET.get("after") or ""),
                        before=uuid_or_none(request.GET.get("before") or ""), size=PAGE_SIZE)
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return _render(request, "contacts/list.html", {
        "access": request.access, "form": form, "page": page, "filtered": filters.active,
        "query": query.urlencode(), "paged": bool(request.GET.get("after") or request.GET.get("before")),
    })


def _contact(request: InboxRequest, contact_id: uuid.UUID) -> Contact:
    return get_object_or_404(contact_visible(access=request.access), public_id=contact_id)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def contact_detail(request: InboxRequest, contact_id: uuid.UUID) -> HttpResponse:
    if (denied := _refused(request, "contacts:read")) is not None:
        return denied
    contact = _contact(request, contact_id)
    status = 200
    if request.method == "POST":
        if (denied := _refused(request, "contacts:write")) is not None:
            return denied
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                contact_update(contact=contact, actor=request.user, **form.cleaned_data)
            except ValidationFailed as failure:
                for field, errors in (failure.details or {}).items():
                    for error in errors if isinstance(errors, list) else [errors]:
                        form.add_error(field if field in form.fields else None, str(error))
            except ConflictError as refusal:  # an anonymised contact
                form.add_error(None, refusal.message)
            else:
                messages.success(request, _("Contact saved."))
                return redirect("contacts-detail", contact_id=contact.public_id)
        status = 400
    else:
        form = ContactForm(initial={field: getattr(contact, field) for field in ContactForm.base_fields})
    return _render(request, "contacts/detail.html", {
        "access": request.access, "contact": contact, "form": form,
        "identities": contact_channels_visible(access=request.access, contact=contact),
        "conversations": contact_conversations_visible(access=request.access, contact=contact)[:50],
    }, status=status)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def import_start(request: InboxRequest) -> HttpResponse:
    if (denied := _refused(request, "contacts:write")) is not None:
        return denied
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = import_job_create(tenant=request.access.tenant, actor=request.user, upload=upload,
                                        file_name=upload.name or "contacts.csv")
            except ApplicationError as failure:
                form.add_error("file", failure.message)
            else:
                return redirect("contacts-import", job_id=job.public_id)
        status = 400
    return _render(request, "contacts/import.html", {
        "access": request.access, "form": form,
        "jobs": ImportJob.objects.select_related("created_by")[:RECENT_JOBS],
    }, status=status)


def _import(request: InboxRequest, job_id: uuid.UUID) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("created_by"), public_id=job_id)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def import_detail(request: InboxRequest, job_id: uuid.UUID) -> HttpResponse:
    """The columns of an import waiting for them; its progress afterwards (as long as it lives)."""
    if (denied := _refused(request, "contacts:write")) is not None:
        return denied
    job = _import(request, job_id)
    if job.status != ImportJob.Status.MAPPING:
        return _render(request, "contacts/import_job.html", _progress_context(request, job))
    form = ImportMappingForm(request.POST or None, headers=job.headers, initial_mapping=job.mapping)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = import_job_map(job=job, actor=request.user, mapping=form.mapping())
            except ApplicationError as failure:
                form.add_error(None, failure.message)
            else:
                contacts_import_queue(job.pk)
                return redirect("contacts-import", job_id=job.public_id)
        status = 400
    sample = import_job_sample(job=job)
    columns = [(form[f"column_{index}"], [row[index] if index < len(row) else "" for row in sample])
               for index in range(len(job.headers))]
    return _render(request, "contacts/import_mapping.html", {
        "access": request.access, "job": job, "form": form, "columns": columns}, status=status)


def _progress_context(request: InboxRequest, job: ImportJob) -> dict[str, object]:
    errors = [{**error, "message": import_error_message(error["code"])} for error in job.errors[:200]]
    return {"access": request.access, "job": job, "errors": errors,
            "failure": import_error_message(job.failure) if job.failure else ""}


@require_GET
@inbox_member_required
def import_progress(request: InboxRequest, job_id: uuid.UUID) -> HttpResponse:
    """The progress fragment the page polls while the import runs."""
    if (denied := _refused(request, "contacts:write")) is not None:
        return denied
    return _render(request, "contacts/_import_progress.html", _progress_context(request, _import(request, job_id)))


@require_GET
@inbox_member_required
def import_rejected(request: InboxRequest, job_id: uuid.UUID) -> HttpResponse:
    """The rejected rows as a CSV, each with its line and reasons, to fix and import again."""
    if (denied := _refused(request, "contacts:write")) is not None:
        return denied
    job = _import(request, job_id)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=job.dialect.get("delimiter", ","))
    writer.writerow([_("Line"), _("Errors"), *job.headers])
    writer.writerows(import_rejected_rows(job=job))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-{job.public_id}.csv"'
    return response


@require_POST
@inbox_member_required
def export_start(request: InboxRequest) -> HttpResponse:
    """Export the contacts matching the list's filters (the form posts them)."""
    if (denied := _refused(request, "contacts:read")) is not None:
        return denied
    channels = [(str(channel.public_id), channel.name) for channel in channel_list(access=request.access)]
    form = ContactFilterForm(request.POST, channels=channels)
    if not form.is_valid():  # never "everything" in place of filters that cannot be read
        messages.error(request, _("Check the filters: %(errors)s") % {"errors": form.errors.as_text()})
        return redirect("contacts")
    job = export_job_create(access=request.access, actor=request.user, filters=form.filters())
    contacts_export_queue(job.pk)
    messages.success(request, _("Export started: the file is listed here when it is ready."))
    return redirect("contacts-exports")


@require_GET
@inbox_member_required
def export_list(request: InboxRequest) -> HttpResponse:
    if (denied := _refused(request, "contacts:read")) is not None:
        return denied
    exports = list(export_visible(access=request.access)[:RECENT_JOBS])
    template = "contacts/_exports.html" if request.headers.get("HX-Request") else "contacts/exports.html"
    return _render(request, template, {
        "access": request.access, "exports": exports,
        "running": any(not job.finished for job in exports),
    })


@require_GET
@inbox_member_required
def export_download(request: InboxRequest, job_id: uuid.UUID) -> FileResponse:
    if not request.access.has("contacts:read"):
        raise Http404
    job: ExportJob = get_object_or_404(export_visible(access=request.access), public_id=job_id)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    try:
        file = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(file, as_attachment=True, filename=f"contacts-{job.public_id}.csv",
                            content_type="text/csv; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response
