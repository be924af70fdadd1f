"""The reports page (/reports/) and its CSV export, for members who read the figures
(analytics:read: administrators, managers, viewers)."""

from __future__ import annotations

from typing import cast

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.sessions import InboxRequest, inbox_member_required
from channels_app.selectors import channel_list
from config.errors import ValidationFailed
from conversations.models import Team
from conversations.reports.figures import GROUPS, report_agent_choices, report_figures, report_filters_parse
from conversations.reports.presentation import TABLES, report_charts, report_csv, report_csv_name, weekday_names


def _refused(request: InboxRequest) -> HttpResponse:
    return render(request, "settings/refused.html", {
        "access": request.access, "message": _("Your role does not show the reports.")}, status=403)


@require_GET
@inbox_member_required
def reports_view(request: InboxRequest) -> HttpResponse:
    access = request.access
    if not access.has("analytics:read"):
        return _refused(request)
    errors: dict[str, list[str]] = {}
    try:
        filters = report_filters_parse(access=access, params=request.GET)
    except ValidationFailed as error:
        errors = error.details or {}
        filters = report_filters_parse(access=access, params={})
    report = report_figures(access=access, filters=filters)
    return render(request, "reports/page.html", {
        "access": access, "report": report, "charts": report_charts(report), "groups": GROUPS, "tables": TABLES,
        "errors": errors, "weekdays": list(zip(weekday_names(), report.busiest_hours, strict=True)),
        "channels": channel_list(access=access, include_archived=True).order_by("name"),
        "teams": Team.objects.order_by("name", "id"), "agents": report_agent_choices(access=access),
    }, status=400 if errors else 200)


@require_GET
@inbox_member_required
def reports_export_view(request: InboxRequest, table: str) -> HttpResponse:
    access = request.access
    if not access.has("analytics:read"):
        return _refused(request)
    if table not in TABLES:
        return HttpResponse(status=404)
    try:
        filters = report_filters_parse(access=access, params=request.GET)
    except ValidationFailed as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    report = report_figures(access=access, filters=filters)
    response = StreamingHttpResponse(report_csv(report, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report_csv_name(report, table)}"'
    return cast(HttpResponse, response)  # served as any response (the decorator's type names HttpResponse)
