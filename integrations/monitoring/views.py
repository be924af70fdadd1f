"""Settings → Integrations health: each channel's and webhook endpoint's figures over the last
hour, day or week, with charts drawn on the server. For members who read the figures
(analytics:read: administrators, managers, viewers), over the channels they see; webhook
endpoints for those who read them."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.sessions import InboxRequest, inbox_member_required
from config.charts import Series, bars
from integrations.monitoring.figures import PERIODS, SubjectHealth, integrations_health


def _chart(health: SubjectHealth, *, bucket: str, channel: bool) -> str:
    starts = [one.start for one in health.buckets]
    series = [Series(_("failed"), "chart-failed", [one.failed for one in health.buckets])]
    if channel:
        series = [Series(_("in"), "chart-in", [one.received for one in health.buckets]),
                  Series(_("out"), "chart-out", [one.attempted for one in health.buckets]), *series]
    else:
        series = [Series(_("sent"), "chart-out", [one.attempted for one in health.buckets]), *series]
    return bars(title=health.subject.name, starts=starts, bucket=bucket, series=series)


@require_GET
@inbox_member_required
def integrations_health_view(request: InboxRequest) -> HttpResponse:
    access = request.access
    if not access.has("analytics:read"):
        return render(request, "settings/refused.html", {
            "access": access, "message": _("Your role does not show the integrations' figures.")}, status=403)
    health = integrations_health(access=access, period=request.GET.get("period", ""))
    rows = [(subject, _chart(subject, bucket=health.bucket, channel=True)) for subject in health.channels]
    hooks = [(subject, _chart(subject, bucket=health.bucket, channel=False)) for subject in health.webhooks]
    return render(request, "settings/health.html", {
        "access": access, "health": health, "periods": PERIODS, "channel_rows": rows, "webhook_rows": hooks,
        "sees_webhooks": access.has("webhooks:read"),
    })
