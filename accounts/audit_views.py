"""Settings → Audit log: the tenant admins' view of their tenant's audit log, its CSV export,
and how long it is kept. Only the tenant's own entries, whatever is asked."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.audit import audit_actor_choices, audit_entry_list, audit_export_record, audit_retention_set
from accounts.models import AuditAction, AuditEntry
from accounts.sessions import InboxRequest, inbox_member_required
from config.errors import ApplicationError
from tenants.models import AUDIT_RETENTION_MAX_DAYS, AUDIT_RETENTION_MIN_DAYS

PAGE_SIZE = 50
CSV_COLUMNS = ("created_at", "actor", "action", "target_type", "target_id", "target", "ip", "user_agent", "details")


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=gettext_lazy("Who"), required=False)
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    since = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(label=gettext_lazy("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, actors: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everyone: list[tuple[str, str]] = [("", _("Anyone"))]
        self.fields["actor"].choices = everyone + actors
        self.fields["action"].choices = [("", _("Any action"))] + [(a.value, a.label) for a in AuditAction]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def filters(self) -> dict[str, Any]:
        """The filters for audit_entry_list: the dates are whole days in the tenant's time zone."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data

        def day_start(day: dt.date) -> dt.datetime:
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

        return {
            "actor_id": data.get("actor") or None,
            "action": data.get("action") or None,
            "since": day_start(data["since"]) if data.get("since") else None,
            "until": day_start(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        }


class RetentionForm(forms.Form):
    days = forms.IntegerField(label=gettext_lazy("Keep the audit log for (days)"),
                              min_value=AUDIT_RETENTION_MIN_DAYS, max_value=AUDIT_RETENTION_MAX_DAYS)


def _admin_only(request: InboxRequest) -> HttpResponse | None:
    if not request.access.reads_audit_log:
        return render(request, "inbox/_error.html", {"message": _("Only administrators see the audit log.")},
                      status=403)
    return None


def _filter_form(request: InboxRequest) -> AuditFilterForm:
    actors = [(str(user.public_id), user.get_full_name() if user.full_name else user.email)
              for user in audit_actor_choices(tenant=request.access.tenant)]
    return AuditFilterForm(request.GET or None, actors=actors)


@require_GET
@inbox_member_required
def audit_log(request: InboxRequest) -> HttpResponse:
    if (denied := _admin_only(request)) is not None:
        return denied
    form = _filter_form(request)
    valid = not form.is_bound or form.is_valid()
    entries = (audit_entry_list(tenant=request.access.tenant, **form.filters()) if valid
               else AuditEntry.all_objects.none())
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "settings/audit.html", {
        "access": request.access, "form": form, "page": page, "query": query.urlencode(),
        "filtered": any(form.filters().values()),
        "retention_form": RetentionForm(initial={"days": request.access.tenant.audit_retention_days}),
    })


class _Echo:
    """csv.writer writes to this; each row goes straight to the response."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheet programs read the file as UTF-8
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow([
            entry.created_at.isoformat(), entry.actor_label, entry.action, entry.target_type, entry.target_id,
            _cell(entry.target_label), entry.ip or "", _cell(entry.user_agent), _cell(_details_text(entry.details)),
        ])


def _details_text(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""


def _cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@require_GET
@inbox_member_required
def audit_log_export(request: InboxRequest) -> HttpResponse:
    if (denied := _admin_only(request)) is not None:
        return denied
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("Check the filters: %(errors)s") % {"errors": form.errors.as_text()}, status=400,
                            content_type="text/plain; charset=utf-8")
    filters = form.filters()
    entries = audit_entry_list(tenant=request.access.tenant, **filters)
    # Recorded before the rows are read: the export shows itself as the newest entry.
    audit_export_record(tenant=request.access.tenant, actor=request.user, filters=filters)
    response = StreamingHttpResponse(_csv_rows(entries), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.access.tenant.slug}-{stamp}.csv"'
    return response


@require_POST
@inbox_member_required
def audit_retention(request: InboxRequest) -> HttpResponse:
    if (denied := _admin_only(request)) is not None:
        return denied
    form = RetentionForm(request.POST)
    if form.is_valid():
        try:
            audit_retention_set(tenant=request.access.tenant, actor=request.user, days=form.cleaned_data["days"])
            messages.success(request, _("Saved: the audit log is kept for %(days)d days.")
                             % {"days": form.cleaned_data["days"]})
        except ApplicationError as failure:
            messages.error(request, failure.message)
    else:
        messages.error(request, _("Choose from %(min)d to %(max)d days.")
                       % {"min": AUDIT_RETENTION_MIN_DAYS, "max": AUDIT_RETENTION_MAX_DAYS})
    return redirect("settings-audit")
