"""The pages of a contact's merge and LGPD requests (export, anonymise), and Settings → Privacy
(how long the tenant keeps messages and files). Each one parses, checks the member's role and
the contact's visibility, calls contacts.merge / contacts.lgpd, and renders."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.sessions import InboxRequest, inbox_member_required
from config.errors import ApplicationError
from contacts.lgpd import contact_anonymise, contact_anonymise_plan, contact_export, retention_last_run, retention_set
from contacts.merge import contact_merge, contact_merge_plan
from contacts.models import Contact
from contacts.selectors import contact_search_q, contact_visible
from tenants.models import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS

CANDIDATES_PAGE_SIZE = 20


def _denied(request: InboxRequest, message: str) -> HttpResponse:
    return render(request, "contacts/lgpd_denied.html", {"access": request.access, "message": message}, status=403)


def _contact(request: InboxRequest, contact_id: uuid.UUID) -> Contact:
    """The contact, if this member may see it (else a 404, also for another tenant's)."""
    return get_object_or_404(contact_visible(access=request.access), public_id=contact_id)


def contact_page_url(contact: Contact) -> str:
    """The contact's own page (the contacts pages)."""
    return f"/contacts/{contact.public_id}/"


# --- Merge -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@inbox_member_required
def contact_merge_view(request: InboxRequest, contact_id: uuid.UUID) -> HttpResponse:
    if not request.access.has("contacts:write"):
        return _denied(request, _("Your role does not allow changing contacts."))
    contact = _contact(request, contact_id)
    if contact.anonymised_at is not None:
        return _denied(request, _("An anonymised contact cannot be merged: its data is gone for good."))
    visible = contact_visible(access=request.access).filter(anonymised_at__isnull=True).exclude(pk=contact.pk)
    other_id = request.POST.get("other") if request.method == "POST" else request.GET.get("other")
    other = None
    if other_id:
        try:
            other = visible.filter(public_id=uuid.UUID(str(other_id))).first()
        except ValueError:
            other = None
        if other is None:
            messages.error(request, _("That contact was not found. Search for it again."))
            return redirect("contact-merge", contact_id=contact.public_id)
    if request.method == "POST" and other is not None:
        try:
            kept = contact_merge(keep=contact, merge=other, actor=request.user)
        except ApplicationError as failure:
            messages.error(request, failure.message)
            return redirect("contact-merge", contact_id=contact.public_id)
        messages.success(request, _("Merged: %(other)s is now part of %(contact)s.")
                         % {"other": str(other), "contact": str(kept)})
        return redirect(contact_page_url(kept))
    if request.method == "POST":
        return redirect("contact-merge", contact_id=contact.public_id)

    query = request.GET.get("q", "").strip()[:200]
    page = None
    if query and other is None:
        found = visible.filter(contact_search_q(tenant=request.access.tenant, text=query)).order_by("name", "id")
        page = Paginator(found, CANDIDATES_PAGE_SIZE).get_page(request.GET.get("page"))
    plan = None
    if other is not None:
        try:
            plan = contact_merge_plan(keep=contact, merge=other)
        except ApplicationError as failure:
            messages.error(request, failure.message)
            return redirect("contact-merge", contact_id=contact.public_id)
    return render(request, "contacts/merge_contact.html", {
        "access": request.access, "contact": contact, "query": query, "page": page, "plan": plan,
        "contact_url": contact_page_url(contact),
    })


# --- LGPD: the contact's page, export, anonymise ---------------------------------------


@require_GET
@inbox_member_required
def contact_lgpd_view(request: InboxRequest, contact_id: uuid.UUID) -> HttpResponse:
    contact = _contact(request, contact_id)
    return render(request, "contacts/lgpd_contact.html", {
        "access": request.access, "contact": contact, "contact_url": contact_page_url(contact),
        "can_export": request.access.has("contacts:write"),
        "can_anonymise": request.access.has("contacts:delete") and contact.anonymised_at is None,
        "can_merge": request.access.has("contacts:write") and contact.anonymised_at is None,
    })


@require_GET
@inbox_member_required
def contact_export_view(request: InboxRequest, contact_id: uuid.UUID) -> HttpResponse:
    if not request.access.has("contacts:write"):
        return _denied(request, _("Your role does not allow exporting a contact's data."))
    export = contact_export(contact=_contact(request, contact_id), actor=request.user)
    return FileResponse(export.file, as_attachment=True, filename=export.file_name, content_type="application/zip")


class AnonymiseForm(forms.Form):
    confirmation = forms.CharField(label=gettext_lazy("Type ANONYMISE to confirm"), max_length=40)

    def __init__(self, *args: object, word: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.word = word
        self.fields["confirmation"].label = _("Type %(word)s to confirm") % {"word": word}

    def clean_confirmation(self) -> str:
        value: str = self.cleaned_data["confirmation"]
        if value.strip().upper() != self.word.upper():
            raise forms.ValidationError(_("Type %(word)s, as shown, to confirm.") % {"word": self.word})
        return value


@require_http_methods(["GET", "POST"])
@inbox_member_required
def contact_anonymise_view(request: InboxRequest, contact_id: uuid.UUID) -> HttpResponse:
    if not request.access.has("contacts:delete"):
        return _denied(request, _("Only administrators and managers anonymise contacts."))
    contact = _contact(request, contact_id)
    if contact.anonymised_at is not None:
        messages.info(request, _("This contact is already anonymised."))
        return redirect("contact-lgpd", contact_id=contact.public_id)
    # The word is in the member's language (ANONIMIZAR in pt-BR).
    form = AnonymiseForm(request.POST or None, word=_("ANONYMISE"))
    if request.method == "POST" and form.is_valid():
        try:
            contact_anonymise(contact=contact, actor=request.user)
        except ApplicationError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("The contact was anonymised: their personal data is gone for good."))
        return redirect("contact-lgpd", contact_id=contact.public_id)
    return render(request, "contacts/lgpd_anonymise.html", {
        "access": request.access, "contact": contact, "form": form, "plan": contact_anonymise_plan(contact=contact),
        "contact_url": contact_page_url(contact),
    }, status=400 if form.is_bound else 200)


# --- Settings → Privacy ----------------------------------------------------------------


class RetentionForm(forms.Form):
    message_retention_days = forms.IntegerField(
        label=gettext_lazy("Delete messages after (days)"), required=False, min_value=0, max_value=RETENTION_MAX_DAYS,
        help_text=gettext_lazy("With their files. Empty or 0: messages are kept for ever."))
    attachment_retention_days = forms.IntegerField(
        label=gettext_lazy("Delete files after (days)"), required=False, min_value=0, max_value=RETENTION_MAX_DAYS,
        help_text=gettext_lazy("Pictures, audio and documents; their messages stay. Empty or 0: kept for ever."))


@require_http_methods(["GET", "POST"])
@inbox_member_required
def privacy_settings_view(request: InboxRequest) -> HttpResponse:
    tenant = request.access.tenant
    if not request.access.has("tenant:settings"):
        return render(request, "contacts/lgpd_privacy.html", {"access": request.access, "forbidden": True},
                      status=403)
    form = RetentionForm(request.POST or None, initial={
        "message_retention_days": tenant.message_retention_days,
        "attachment_retention_days": tenant.attachment_retention_days})
    if request.method == "POST" and form.is_valid():
        try:
            retention_set(tenant=tenant, actor=request.user,
                          message_days=form.cleaned_data["message_retention_days"],
                          attachment_days=form.cleaned_data["attachment_retention_days"])
        except ApplicationError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("Saved: the retention applies at its next daily run."))
            return redirect("settings-privacy")
    return render(request, "contacts/lgpd_privacy.html", {
        "access": request.access, "form": form, "last_run": retention_last_run(tenant=tenant),
        "min_days": RETENTION_MIN_DAYS, "max_days": RETENTION_MAX_DAYS,
    }, status=400 if form.is_bound else 200)
