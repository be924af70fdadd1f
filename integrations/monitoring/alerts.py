"""Alerts: the tenant's rules (integrations.models.AlertRule) evaluated every minute by Celery beat
(`alerts_evaluate`), each opening an incident when its condition starts holding for a subject
(a channel, a webhook endpoint, the tenant's quota), telling the tenant's admins once (a notice
in the product and an email, each in the admin's language), staying quiet while it holds, and
resolving it with one recovery notice when it stops.

What a condition reads: the health counters (ActivitySlot, never the messages table), a
channel's status, the tenant's usage. Each kind of rule has a *condition source*: a function
given the active rules of its kind and the time, answering for each rule the subjects it holds
for. Sources register themselves (`condition_source_register`), so that an app above this one
(webhooks: its endpoints) adds its own without this one importing it.

Two evaluations at once (two beats, a slow one overlapping the next) tell nothing twice: an
incident is opened by an insert that a partial unique constraint (one open incident per rule
and subject) lets only one of them make, and resolved by an update that only one of them
finds still open; each tells only what its own statement did."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.notices import notice_send, notice_unread_count_of, notice_unread_label, tenant_admins
from accounts.tasks import email_send_queue
from channels_app.models import Channel
from config.public_url import public_base_url
from conversations.realtime import broadcast_notice
from integrations.models import ActivitySlot, AlertDefaults, AlertIncident, AlertRule
from integrations.monitoring.counters import slot_of
from tenants.models import Tenant

logger = logging.getLogger(__name__)

Kind = AlertRule.Kind
CHANNEL_KINDS = frozenset({Kind.SEND_FAILURE_RATE, Kind.NO_INBOUND, Kind.CHANNEL_DISCONNECTED})
WINDOW_KINDS = frozenset({Kind.SEND_FAILURE_RATE})
ALERTS_PATH = "/settings/alerts/"


@dataclass(frozen=True)
class ThresholdSpec:
    unit: str  # percent, hours, minutes ("": the kind has none)
    default: int
    low: int
    high: int


THRESHOLDS: dict[str, ThresholdSpec] = {
    Kind.SEND_FAILURE_RATE: ThresholdSpec("percent", 20, 1, 100),
    Kind.NO_INBOUND: ThresholdSpec("hours", 6, 1, 720),
    # A grace: a reconnection that takes a minute is no incident.
    Kind.CHANNEL_DISCONNECTED: ThresholdSpec("minutes", 5, 0, 1440),
    Kind.WEBHOOK_DISABLED: ThresholdSpec("", 0, 0, 0),
    Kind.QUOTA: ThresholdSpec("percent", 90, 1, 100),
}
WINDOW_DEFAULT, WINDOW_LOW, WINDOW_HIGH = 10, 5, 1440
MIN_ATTEMPTS_DEFAULT, MIN_ATTEMPTS_LOW, MIN_ATTEMPTS_HIGH = 10, 1, 100_000

# What a tenant starts with (once, at its first evaluation or its first look at the page). No
# messages for hours is normal at night for many accounts: that rule is there, switched off.
DEFAULT_RULES: tuple[tuple[str, bool], ...] = (
    (Kind.CHANNEL_DISCONNECTED, True),
    (Kind.SEND_FAILURE_RATE, True),
    (Kind.WEBHOOK_DISABLED, True),
    (Kind.QUOTA, True),
    (Kind.NO_INBOUND, False),
)


@dataclass(frozen=True)
class Finding:
    """A subject a rule's condition holds for now, and what was measured."""

    subject_kind: str  # channel, webhook, tenant
    subject_id: int
    label: str
    url: str = ""  # where to look: a path of the product
    value: float | None = None


ConditionSource = Callable[[list[AlertRule], dt.datetime], dict[int, list[Finding]]]
_sources: dict[str, ConditionSource] = {}


def condition_source_register(kind: str, source: ConditionSource) -> None:
    """Say how rules of `kind` are evaluated: `source(rules, now)` answers, for each rule's
    primary key, the subjects its condition holds for now (a rule it leaves out holds for none)."""
    _sources[kind] = source


def condition_source(kind: str) -> ConditionSource | None:
    return _sources.get(kind)


# --- The built-in sources -------------------------------------------------------------


def _channels(rules: list[AlertRule], **filters: object) -> dict[int, list[Channel]]:
    """The live channels of the rules' tenants, by tenant."""
    found: dict[int, list[Channel]] = defaultdict(list)
    for channel in (Channel.all_objects.filter(tenant_id__in={rule.tenant_id for rule in rules},
                                               archived_at__isnull=True, **filters)
                    .only("pk", "tenant_id", "public_id", "name", "status", "status_changed_at", "created_at")
                    .order_by("pk")):
        found[channel.tenant_id].append(channel)
    return found


def _of_rule(rule: AlertRule, channels: dict[int, list[Channel]]) -> list[Channel]:
    return [channel for channel in channels.get(rule.tenant_id, [])
            if rule.channel_id is None or channel.pk == rule.channel_id]


def _channel_finding(channel: Channel, value: float | None) -> Finding:
    return Finding(subject_kind=ActivitySlot.Subject.CHANNEL, subject_id=channel.pk, label=channel.name,
                   url=f"/settings/channels/{channel.public_id}/", value=value)


def send_failure_rate_findings(rules: list[AlertRule], now: dt.datetime) -> dict[int, list[Finding]]:
    """Channels whose sends failed at least `threshold` % of the time over the window (in whole
    five-minute slots), once at least `min_attempts` were handed to the provider."""
    channels = _channels(rules)
    earliest = min(slot_of(now - dt.timedelta(minutes=rule.window_minutes)) for rule in rules)
    slots: dict[int, list[tuple[dt.datetime, int, int]]] = defaultdict(list)
    for subject_id, slot, attempted, failed in ActivitySlot.all_objects.filter(
            tenant_id__in={rule.tenant_id for rule in rules}, subject_kind=ActivitySlot.Subject.CHANNEL,
            slot__gte=earliest).values_list("subject_id", "slot", "attempted", "failed"):
        slots[subject_id].append((slot, attempted, failed))
    found: dict[int, list[Finding]] = {}
    for rule in rules:
        since = slot_of(now - dt.timedelta(minutes=rule.window_minutes))
        for channel in _of_rule(rule, channels):
            attempted = sum(row[1] for row in slots.get(channel.pk, []) if row[0] >= since)
            failed = sum(row[2] for row in slots.get(channel.pk, []) if row[0] >= since)
            if attempted >= max(rule.min_attempts, 1) and failed * 100 >= rule.threshold * attempted:
                rate = min(100.0, round(failed * 100 / attempted, 1))
                found.setdefault(rule.pk, []).append(_channel_finding(channel, rate))
    return found


def no_inbound_findings(rules: list[AlertRule], now: dt.datetime) -> dict[int, list[Finding]]:
    """Connected channels that received nothing for `threshold` hours (a channel connected or
    created more recently is given that long first)."""
    channels = _channels(rules, status=Channel.Status.CONNECTED)
    tenant_ids = {rule.tenant_id for rule in rules}
    received: dict[int, set[int]] = {}  # hours → channels that received within them
    for hours in {rule.threshold for rule in rules}:
        received[hours] = set(ActivitySlot.all_objects.filter(
            tenant_id__in=tenant_ids, subject_kind=ActivitySlot.Subject.CHANNEL, received__gt=0,
            slot__gte=slot_of(now - dt.timedelta(hours=hours))).values_list("subject_id", flat=True).distinct())
    quiet: dict[int, list[Channel]] = {}
    for rule in rules:
        since = now - dt.timedelta(hours=rule.threshold)
        quiet[rule.pk] = [channel for channel in _of_rule(rule, channels)
                          if channel.pk not in received[rule.threshold]
                          and max(channel.created_at, channel.status_changed_at or channel.created_at) <= since]
    last = dict(ActivitySlot.all_objects.filter(
        subject_kind=ActivitySlot.Subject.CHANNEL, received__gt=0,
        subject_id__in={channel.pk for chosen in quiet.values() for channel in chosen})
        .values("subject_id").annotate(last=Max("last_received_at")).values_list("subject_id", "last"))
    found: dict[int, list[Finding]] = {}
    for rule_pk, chosen in quiet.items():
        for channel in chosen:
            at = last.get(channel.pk)
            hours_quiet = round((now - at).total_seconds() / 3600, 1) if at else None
            found.setdefault(rule_pk, []).append(_channel_finding(channel, hours_quiet))
    return found


def channel_disconnected_findings(rules: list[AlertRule], now: dt.datetime) -> dict[int, list[Finding]]:
    """Channels DISCONNECTED or in ERROR for at least `threshold` minutes."""
    channels = _channels(rules, status__in=(Channel.Status.DISCONNECTED, Channel.Status.ERROR))
    found: dict[int, list[Finding]] = {}
    for rule in rules:
        since = now - dt.timedelta(minutes=rule.threshold)
        for channel in _of_rule(rule, channels):
            down_since = channel.status_changed_at
            if down_since is None or down_since <= since:
                minutes = round((now - down_since).total_seconds() / 60) if down_since else None
                found.setdefault(rule.pk, []).append(_channel_finding(channel, minutes))
    return found


def quota_findings(rules: list[AlertRule], now: dt.datetime) -> dict[int, list[Finding]]:
    """Tenants that used at least `threshold` % of this month's messages (none: no limit)."""
    month = Tenant.current_month()
    tenants = {tenant.pk: tenant for tenant in Tenant.objects.filter(pk__in={rule.tenant_id for rule in rules})
               .only("pk", "name", "max_messages_per_month", "usage_month", "messages_this_month")}
    found: dict[int, list[Finding]] = {}
    for rule in rules:
        tenant = tenants.get(rule.tenant_id)
        if tenant is None or not tenant.max_messages_per_month:
            continue
        used = tenant.messages_this_month if tenant.usage_month == month else 0
        if used * 100 >= rule.threshold * tenant.max_messages_per_month:
            found[rule.pk] = [Finding(subject_kind="tenant", subject_id=tenant.pk, label=tenant.name,
                                      value=round(used * 100 / tenant.max_messages_per_month, 1))]
    return found


condition_source_register(Kind.SEND_FAILURE_RATE, send_failure_rate_findings)
condition_source_register(Kind.NO_INBOUND, no_inbound_findings)
condition_source_register(Kind.CHANNEL_DISCONNECTED, channel_disconnected_findings)
condition_source_register(Kind.QUOTA, quota_findings)


# --- Evaluation -----------------------------------------------------------------------


@dataclass
class Evaluation:
    rules: int = 0
    opened: int = 0
    resolved: int = 0


def alert_defaults_ensure(*, tenant_ids: Iterable[int]) -> int:
    """Give each of these tenants the default rules if it never had them; returns how many got them."""
    tenant_ids = list(tenant_ids)
    missing = set(tenant_ids) - set(AlertDefaults.all_objects.filter(tenant_id__in=tenant_ids)
                                    .values_list("tenant_id", flat=True))
    given = 0
    for tenant_id in sorted(missing):
        try:
            with transaction.atomic():
                AlertDefaults.all_objects.create(tenant_id=tenant_id)
                AlertRule.all_objects.bulk_create([
                    AlertRule(tenant_id=tenant_id, kind=kind, threshold=THRESHOLDS[kind].default,
                              window_minutes=WINDOW_DEFAULT, min_attempts=MIN_ATTEMPTS_DEFAULT, is_active=active)
                    for kind, active in DEFAULT_RULES])
            given += 1
        except IntegrityError:  # another evaluation or page view gave them first
            continue
    return given


def alerts_evaluate(*, now: dt.datetime | None = None, tenant_ids: Iterable[int] | None = None) -> Evaluation:
    """Evaluate the active rules of every operational tenant (or of these): open, keep or resolve
    their incidents, telling the admins of what opened or resolved."""
    now = now or timezone.now()
    tenants = Tenant.objects.filter(status__in=(Tenant.Status.TRIAL, Tenant.Status.ACTIVE))
    if tenant_ids is not None:
        tenants = tenants.filter(pk__in=list(tenant_ids))
    alert_defaults_ensure(tenant_ids=tenants.exclude(pk__in=AlertDefaults.all_objects.values("tenant_id"))
                          .values_list("pk", flat=True))
    chosen = tenants.values("pk")
    rules = list(AlertRule.all_objects.filter(tenant_id__in=chosen, is_active=True).order_by("pk"))
    result = Evaluation(rules=len(rules))
    by_kind: dict[str, list[AlertRule]] = defaultdict(list)
    for rule in rules:
        by_kind[rule.kind].append(rule)
    open_incidents: dict[int, dict[tuple[str, int], AlertIncident]] = defaultdict(dict)
    for incident in AlertIncident.all_objects.filter(rule__tenant_id__in=chosen, rule__is_active=True,
                                                     resolved_at__isnull=True):
        open_incidents[incident.rule_id][(incident.subject_kind, incident.subject_id)] = incident
    for kind, kind_rules in by_kind.items():
        source = condition_source(kind)
        if source is None:  # the app that knows these subjects is not installed
            continue
        try:
            findings = source(kind_rules, now)
        except Exception:  # one kind's failure leaves the others' alerts working
            logger.exception("alert rules of kind %s not evaluated", kind)
            continue
        recovered_before = now - dt.timedelta(minutes=settings.ALERT_RECOVERY_MINUTES)
        still_held: list[int] = []
        for rule in kind_rules:
            holding = {(finding.subject_kind, finding.subject_id): finding for finding in findings.get(rule.pk, [])}
            opened = open_incidents.get(rule.pk, {})
            for key, finding in holding.items():
                if key in opened:
                    still_held.append(opened[key].pk)
                elif _incident_open(rule, finding, now):
                    result.opened += 1
            for key, incident in opened.items():
                if (key not in holding and (incident.held_at or incident.started_at) <= recovered_before
                        and _incident_resolve(rule, incident, now)):
                    result.resolved += 1
        if still_held:
            AlertIncident.all_objects.filter(Q(held_at__isnull=True) | Q(held_at__lt=now),
                                             pk__in=still_held).update(held_at=now)
    return result


def _incident_open(rule: AlertRule, finding: Finding, now: dt.datetime) -> bool:
    try:
        with transaction.atomic():
            incident = AlertIncident.all_objects.create(
                tenant_id=rule.tenant_id, rule=rule, subject_kind=finding.subject_kind,
                subject_id=finding.subject_id, subject_label=finding.label[:200], subject_url=finding.url[:300],
                value=finding.value, started_at=now, held_at=now, notified_at=now)
            _tell(rule, incident, opened=True)
    except IntegrityError:  # another evaluation opened it (and told)
        return False
    logger.info("alert %s opened: %s %s (%s)", rule.kind, finding.subject_kind, finding.subject_id, finding.value)
    return True


def _incident_resolve(rule: AlertRule, incident: AlertIncident, now: dt.datetime, *, tell: bool = True) -> bool:
    with transaction.atomic():
        if not AlertIncident.all_objects.filter(pk=incident.pk, resolved_at__isnull=True).update(
                resolved_at=now, recovery_notified_at=now if tell else None):
            return False  # another evaluation resolved it (and told)
        incident.resolved_at = now
        if tell:
            _tell(rule, incident, opened=False)
    logger.info("alert %s resolved: %s %s", rule.kind, incident.subject_kind, incident.subject_id)
    return True


def alert_incidents_close_quietly(*, rule: AlertRule, now: dt.datetime | None = None) -> int:
    """Resolve a rule's open incidents without telling anyone (the rule was switched off or
    changed: what it said no longer stands); returns how many."""
    now = now or timezone.now()
    return AlertIncident.all_objects.filter(rule=rule, resolved_at__isnull=True).update(resolved_at=now)


# --- Telling the admins ---------------------------------------------------------------


def alert_message(rule: AlertRule, incident: AlertIncident, *, opened: bool) -> tuple[str, str]:
    """The title and text of a notice of an incident, in the active language."""
    name, value = incident.subject_label, incident.value
    number = formats.number_format(value if value is not None else 0, decimal_pos=0 if value is None
                                   or float(value).is_integer() else 1)
    if rule.kind == Kind.SEND_FAILURE_RATE:
        if opened:
            return (_("Sends failing on %(channel)s") % {"channel": name},
                    _("%(rate)s%% of the messages sent on %(channel)s in the last %(minutes)s minutes failed "
                      "(the alert fires from %(threshold)s%%).")
                    % {"rate": number, "channel": name, "minutes": rule.window_minutes, "threshold": rule.threshold})
        return (_("Sends on %(channel)s are back to normal") % {"channel": name},
                _("Fewer than %(threshold)s%% of the messages sent on %(channel)s fail now.")
                % {"threshold": rule.threshold, "channel": name})
    if rule.kind == Kind.NO_INBOUND:
        if opened:
            return (_("No messages on %(channel)s for %(hours)s hours") % {"channel": name, "hours": rule.threshold},
                    _("%(channel)s received no message in the last %(hours)s hours: check that it is still "
                      "connected on the provider's side.") % {"channel": name, "hours": rule.threshold})
        return (_("%(channel)s receives messages again") % {"channel": name},
                _("A message arrived on %(channel)s.") % {"channel": name})
    if rule.kind == Kind.CHANNEL_DISCONNECTED:
        if opened:
            return (_("Channel %(channel)s is disconnected") % {"channel": name},
                    _("The channel %(channel)s is disconnected or in error: messages are neither received nor "
                      "sent on it until it is connected again.") % {"channel": name})
        return (_("Channel %(channel)s is connected again") % {"channel": name},
                _("The channel %(channel)s works again.") % {"channel": name})
    if rule.kind == Kind.WEBHOOK_DISABLED:
        if opened:
            return (_("Webhook endpoint disabled: %(url)s") % {"url": name[:80]},
                    _("No events are sent to %(url)s while it is disabled. Enable it again in the settings, "
                      "where what it missed can be replayed.") % {"url": name})
        return (_("Webhook endpoint enabled again: %(url)s") % {"url": name[:80]},
                _("Events are sent to %(url)s again.") % {"url": name})
    if opened:
        return (_("%(percent)s%% of this month's messages used") % {"percent": number},
                _("This account has used %(percent)s%% of the messages its plan allows this month; sending stops "
                  "at the limit.") % {"percent": number})
    return (_("Monthly message use below %(threshold)s%% again") % {"threshold": rule.threshold},
            _("This account's use of its monthly messages is below the alert's %(threshold)s%%.")
            % {"threshold": rule.threshold})


def _tell(rule: AlertRule, incident: AlertIncident, *, opened: bool) -> None:
    """A notice and an email to each active admin of the tenant, in their language (the emails
    leave once the transaction commits)."""
    tenant = Tenant.objects.get(pk=rule.tenant_id)
    url = incident.subject_url or ALERTS_PATH
    for admin in tenant_admins(tenant=tenant):
        with translation.override(admin.language or tenant.language):
            title, text = alert_message(rule, incident, opened=opened)
            notice_send(tenant=tenant, user=admin, title=title, body=text, url=url)
            unread = notice_unread_count_of(tenant=tenant, user=admin)
            transaction.on_commit(functools.partial(broadcast_notice, tenant_pk=tenant.pk, user_pk=admin.pk,
                                                    unread=unread, label=notice_unread_label(unread), title=title))
            body = render_to_string("integrations/email/alert.txt", {
                "text": text, "tenant": tenant, "opened": opened,
                "url": f"{public_base_url()}{url}", "alerts_url": f"{public_base_url()}{ALERTS_PATH}"})
            email_send_queue(subject=f"[{tenant.name}] {title}", body=body, to=admin.email)


def alert_rule_condition(rule: AlertRule) -> str:
    """What a rule watches, in a sentence of the active language."""
    if rule.kind == Kind.SEND_FAILURE_RATE:
        return (_("%(threshold)s%% or more of the sends fail over %(minutes)s minutes (from %(attempts)s sends)")
                % {"threshold": rule.threshold, "minutes": rule.window_minutes, "attempts": rule.min_attempts})
    if rule.kind == Kind.NO_INBOUND:
        return _("No message received for %(hours)s hours") % {"hours": rule.threshold}
    if rule.kind == Kind.CHANNEL_DISCONNECTED:
        return _("Disconnected or in error for %(minutes)s minutes") % {"minutes": rule.threshold}
    if rule.kind == Kind.WEBHOOK_DISABLED:
        return _("A webhook endpoint is disabled (by someone or after failing for a day)")
    return _("%(threshold)s%% of the month's messages used") % {"threshold": rule.threshold}
