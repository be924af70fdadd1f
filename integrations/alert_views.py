"""Settings → Alerts: the tenant's alert rules with their state (firing since when, for what), the
recent incidents, and for administrators (alerts:write) adding, changing, switching off and
deleting rules. Managers (alerts:read) see the page without its forms; agents are refused.
Another tenant's rule is a 404. The rules' logic is integrations.monitoring's."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.sessions import InboxRequest, inbox_member_required
from channels_app.models import Channel
from config.errors import ApplicationError
from config.forms import form_errors_place
from integrations.members import tenant_channels
from integrations.models import AlertRule
from integrations.monitoring.alert_rules import (
    alert_incident_recent,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_list,
    alert_rule_update,
)
from integrations.monitoring.alerts import CHANNEL_KINDS, THRESHOLDS, WINDOW_KINDS, alert_rule_condition

READ, WRITE = "alerts:read", "alerts:write"


class AlertRuleForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Alert when"), choices=AlertRule.Kind.choices)
    threshold = forms.IntegerField(
        label=gettext_lazy("Threshold"), required=False, min_value=0,
        help_text=gettext_lazy("Sends failing and quota: a percentage (20 and 90 if left empty). No messages: "
                               "hours (6). Channel disconnected: minutes of grace (5)."))
    window_minutes = forms.IntegerField(label=gettext_lazy("Over how many minutes (sends failing)"), required=False,
                                        min_value=0)
    min_attempts = forms.IntegerField(label=gettext_lazy("From how many sends (sends failing)"), required=False,
                                      min_value=0)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("On"), required=False, initial=True)

    def __init__(self, *args: Any, channels: list[Channel], kind: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels = {str(channel.public_id): channel for channel in channels}
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            ("", _("Every channel")), *((key, channel.name) for key, channel in self.channels.items())]
        if kind is not None:  # a rule's kind is not changed: the fields it has no use for are not shown
            del self.fields["kind"]
            unused = {"channel"} if kind not in CHANNEL_KINDS else set()
            unused |= {"window_minutes", "min_attempts"} if kind not in WINDOW_KINDS else set()
            unused |= {"threshold"} if not THRESHOLDS[kind].unit else set()
            for name in unused:
                del self.fields[name]


def _refused(request: InboxRequest, permission: str) -> HttpResponse | None:
    if request.access.has(permission):
        return None
    return render(request, "settings/refused.html",
                  {"access": request.access, "message": _("Only administrators and managers see the alerts.")
                   if permission == READ else _("Only administrators change the alerts.")}, status=403)


def _form_errors(form: forms.Form, failure: ApplicationError) -> None:
    form_errors_place(form, failure)


def _values(form: AlertRuleForm) -> dict[str, Any]:
    data = form.cleaned_data
    values: dict[str, Any] = {name: data[name] for name in ("threshold", "window_minutes", "min_attempts", "is_active")
              if name in data}
    if "channel" in data:
        values["channel"] = form.channels.get(data["channel"] or "")
    return values


def _page(request: InboxRequest, form: AlertRuleForm, *, status: int = 200) -> HttpResponse:
    tenant = request.access.tenant
    rules = [{"rule": rule, "condition": alert_rule_condition(rule), "open": getattr(rule, "open_incidents", [])}
             for rule in alert_rule_list(tenant=tenant)]
    return render(request, "settings/alerts.html", {
        "access": request.access, "rows": rules, "form": form, "incidents": alert_incident_recent(tenant=tenant),
        "may_write": request.access.has(WRITE),
    }, status=status)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def alert_rules_view(request: InboxRequest) -> HttpResponse:
    if (denied := _refused(request, READ if request.method == "GET" else WRITE)) is not None:
        return denied
    channels = tenant_channels(tenant=request.access.tenant)
    form = AlertRuleForm(request.POST or None, channels=channels)
    if request.method == "POST" and form.is_valid():
        values = _values(form)
        if form.cleaned_data["kind"] not in CHANNEL_KINDS:
            values["channel"] = None
        try:
            alert_rule_create(tenant=request.access.tenant, actor=request.access.user, kind=form.cleaned_data["kind"],
                              **values)
            messages.success(request, _("Alert rule added."))
            return redirect("settings-alerts")
        except ApplicationError as failure:
            _form_errors(form, failure)
    return _page(request, form, status=400 if form.errors else 200)


def _rule(request: InboxRequest, rule_id: uuid.UUID) -> AlertRule:
    return get_object_or_404(AlertRule.all_objects.filter(tenant=request.access.tenant).select_related("channel"),
                             public_id=rule_id)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def alert_rule_view(request: InboxRequest, rule_id: uuid.UUID) -> HttpResponse:
    if (denied := _refused(request, WRITE)) is not None:
        return denied
    rule = _rule(request, rule_id)
    initial = {"threshold": rule.threshold, "window_minutes": rule.window_minutes,
               "min_attempts": rule.min_attempts, "channel": str(rule.channel.public_id) if rule.channel else "",
               "is_active": rule.is_active}
    form = AlertRuleForm(request.POST or None, channels=tenant_channels(tenant=request.access.tenant),
                         kind=rule.kind, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            alert_rule_update(tenant=request.access.tenant, actor=request.access.user, rule=rule, **_values(form))
            messages.success(request, _("Alert rule saved."))
            return redirect("settings-alerts")
        except ApplicationError as failure:
            _form_errors(form, failure)
    return render(request, "settings/alert_rule.html", {
        "access": request.access, "rule": rule, "form": form, "condition": alert_rule_condition(rule),
    }, status=400 if form.errors else 200)


@require_POST
@inbox_member_required
def alert_rule_delete_view(request: InboxRequest, rule_id: uuid.UUID) -> HttpResponse:
    if (denied := _refused(request, WRITE)) is not None:
        return denied
    alert_rule_delete(tenant=request.access.tenant, actor=request.access.user, rule=_rule(request, rule_id))
    messages.success(request, _("Alert rule deleted."))
    return redirect("settings-alerts")
