"""The tenant's alert rules: listed with their state, added, changed, switched off and deleted by
its administrators (the settings page and /api/v1/alert-rules), each change in the audit log.
What a rule means, and its incidents, are integrations.monitoring.alerts'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, User
from channels_app.models import Channel
from config.errors import ValidationFailed
from integrations.models import AlertIncident, AlertRule
from integrations.monitoring.alerts import (
    CHANNEL_KINDS,
    MIN_ATTEMPTS_DEFAULT,
    MIN_ATTEMPTS_HIGH,
    MIN_ATTEMPTS_LOW,
    THRESHOLDS,
    WINDOW_DEFAULT,
    WINDOW_HIGH,
    WINDOW_KINDS,
    WINDOW_LOW,
    alert_defaults_ensure,
    alert_incidents_close_quietly,
)
from tenants.models import Tenant

UNSET: Any = object()
RECENT_INCIDENTS = 20


def alert_rule_list(*, tenant: Tenant) -> QuerySet[AlertRule]:
    """The tenant's rules (the defaults given first, if it never had them), each with its open
    incidents prefetched as `open_incidents`."""
    alert_defaults_ensure(tenant_ids=[tenant.pk])
    return (AlertRule.all_objects.filter(tenant=tenant).select_related("channel").order_by("created_at", "id")
            .prefetch_related(Prefetch("incidents", to_attr="open_incidents",
                                       queryset=AlertIncident.all_objects.filter(resolved_at__isnull=True)
                                       .order_by("started_at", "id"))))


def alert_incident_recent(*, tenant: Tenant, limit: int = RECENT_INCIDENTS) -> list[AlertIncident]:
    return list(AlertIncident.all_objects.filter(tenant=tenant).select_related("rule")
                .order_by("-started_at", "-id")[:limit])


@dataclass(frozen=True)
class RuleValues:
    threshold: int
    window_minutes: int
    min_attempts: int
    channel: Channel | None


def _in_range(name: str, value: Any, low: int, high: int, problems: dict[str, list[str]]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems[name] = [_("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}]
        return low
    return value


def _checked(*, tenant: Tenant, kind: str, threshold: Any, window_minutes: Any, min_attempts: Any,
             channel: Any) -> RuleValues:
    problems: dict[str, list[str]] = {}
    spec = THRESHOLDS[kind]
    threshold = spec.default if threshold is None else threshold
    threshold = 0 if not spec.unit else _in_range("threshold", threshold, spec.low, spec.high, problems)
    window_minutes = WINDOW_DEFAULT if window_minutes is None else window_minutes
    window_minutes = _in_range("window_minutes", window_minutes, WINDOW_LOW, WINDOW_HIGH, problems)
    min_attempts = MIN_ATTEMPTS_DEFAULT if min_attempts is None else min_attempts
    min_attempts = _in_range("min_attempts", min_attempts, MIN_ATTEMPTS_LOW, MIN_ATTEMPTS_HIGH, problems)
    if channel is not None:
        if kind not in CHANNEL_KINDS:
            problems["channel"] = [_("This kind of rule is not about a channel.")]
        elif not isinstance(channel, Channel) or channel.tenant_id != tenant.pk or channel.archived_at is not None:
            problems["channel"] = [_("No such channel in this account.")]
    if problems:
        raise ValidationFailed(_("The rule is not valid."), details=problems)
    return RuleValues(threshold=threshold, window_minutes=window_minutes if kind in WINDOW_KINDS else WINDOW_DEFAULT,
                      min_attempts=min_attempts, channel=channel)


def _target(rule: AlertRule) -> AuditTarget:
    return AuditTarget("alert_rule", str(rule.public_id), str(AlertRule.Kind(rule.kind).label))


def _described(rule: AlertRule) -> dict[str, Any]:
    return {"kind": rule.kind, "threshold": rule.threshold, "window_minutes": rule.window_minutes,
            "min_attempts": rule.min_attempts, "channel": str(rule.channel.public_id) if rule.channel else None,
            "is_active": rule.is_active}


@transaction.atomic
def alert_rule_create(*, tenant: Tenant, actor: User | None, kind: str, threshold: int | None = None,
                      window_minutes: int | None = None, min_attempts: int | None = None,
                      channel: Channel | None = None, is_active: bool = True) -> AlertRule:
    if kind not in AlertRule.Kind.values:
        raise ValidationFailed(_("The rule is not valid."), details={"kind": [_("Unknown kind of rule.")]})
    values = _checked(tenant=tenant, kind=kind, threshold=threshold, window_minutes=window_minutes,
                      min_attempts=min_attempts, channel=channel)
    alert_defaults_ensure(tenant_ids=[tenant.pk])  # a first rule of one's own does not forgo the defaults
    rule = AlertRule(tenant=tenant, kind=kind, threshold=values.threshold, window_minutes=values.window_minutes,
                     min_attempts=values.min_attempts, channel=values.channel, is_active=is_active, created_by=actor)
    rule.save()
    audit_record(tenant=tenant, action=AuditAction.ALERT_RULE_CREATED, actor=actor, target=_target(rule),
                 details=_described(rule))
    return rule


@transaction.atomic
def alert_rule_update(*, tenant: Tenant, actor: User | None, rule: AlertRule, threshold: Any = UNSET,
                      window_minutes: Any = UNSET, min_attempts: Any = UNSET, channel: Any = UNSET,
                      is_active: Any = UNSET) -> AlertRule:
    """Change a rule; its open incidents close without a notice (what they said was measured by
    the rule as it was: the next evaluation opens what the rule as it is finds)."""
    values = _checked(tenant=tenant, kind=rule.kind,
                      threshold=rule.threshold if threshold is UNSET else threshold,
                      window_minutes=rule.window_minutes if window_minutes is UNSET else window_minutes,
                      min_attempts=rule.min_attempts if min_attempts is UNSET else min_attempts,
                      channel=rule.channel if channel is UNSET else channel)
    before = _described(rule)
    rule.threshold, rule.window_minutes, rule.min_attempts, rule.channel = (
        values.threshold, values.window_minutes, values.min_attempts, values.channel)
    if is_active is not UNSET:
        rule.is_active = bool(is_active)
    after = _described(rule)
    changed = {name: value for name, value in after.items() if before[name] != value}
    if changed:
        rule.save()
        alert_incidents_close_quietly(rule=rule)
        audit_record(tenant=tenant, action=AuditAction.ALERT_RULE_UPDATED, actor=actor, target=_target(rule),
                     details=changed)
    return rule


@transaction.atomic
def alert_rule_delete(*, tenant: Tenant, actor: User | None, rule: AlertRule) -> None:
    audit_record(tenant=tenant, action=AuditAction.ALERT_RULE_DELETED, actor=actor, target=_target(rule),
                 details=_described(rule))
    rule.delete()
