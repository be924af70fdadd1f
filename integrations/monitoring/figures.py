"""The figures of the integrations health page and its API: per channel and per webhook
endpoint, over the last hour, day or week, what came in and went out, how much of it failed and
why, how long the provider (or the endpoint) took, when the last message arrived, the connection
state and the quotas. Read from the counters (integrations.monitoring.counters) in four
statements whatever the traffic, bucketed in the tenant's time zone.

Webhook endpoints belong to an app above this one: it tells what its subjects are through
`subject_source_register` (as it does for the alerts), so that this module never imports it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Max, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import TenantAccess
from channels_app.models import Channel
from channels_app.selectors import DOWN, channel_list
from integrations.models import ActivityError, ActivitySlot
from integrations.monitoring.counters import SLOT_SECONDS, slot_of
from integrations.registry import adapter_for
from integrations.throttle import daily_sends_used
from tenants.models import Tenant
from tenants.services import tenant_messages_this_month

PERIODS = {"hour": _("Last hour"), "day": _("Last 24 hours"), "week": _("Last 7 days")}
DEFAULT_PERIOD = "day"
ERRORS_SHOWN = 8


@dataclass(frozen=True)
class Subject:
    """A channel or webhook endpoint as the page names it."""

    kind: str  # ActivitySlot.Subject
    pk: int
    public_id: str
    name: str
    detail: str  # the channel's kind, the endpoint's URL
    state: str  # machine-readable: connected, disconnected, active, disabled, failing...
    state_label: str
    state_since: dt.datetime | None
    healthy: bool
    url: str = ""  # its settings page


SubjectSource = Callable[[TenantAccess], list[Subject]]
_sources: dict[str, SubjectSource] = {}


def subject_source_register(kind: str, source: SubjectSource) -> None:
    """An app above this one lists its subjects (webhook endpoints) for the page."""
    _sources[kind] = source


@dataclass
class Bucket:
    start: dt.datetime
    received: int = 0
    attempted: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Quota:
    used: int
    limit: int  # 0: unlimited

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.used / self.limit, 1) if self.limit else None


@dataclass
class SubjectHealth:
    subject: Subject
    buckets: list[Bucket]
    received: int = 0
    attempted: int = 0
    failed: int = 0
    latency_ms_total: int = 0
    latency_count: int = 0
    errors: list[tuple[str, int]] = field(default_factory=list)
    last_received_at: dt.datetime | None = None
    daily_sends: Quota | None = None
    # Templates sent over the last 24 hours against the provider's daily limit of conversations
    # the business starts (WhatsApp's messaging tier); each template may start one, so this is
    # the most the tier can have been used.
    business_initiated: Quota | None = None

    @property
    def latency_ms(self) -> int | None:
        return round(self.latency_ms_total / self.latency_count) if self.latency_count else None

    @property
    def success_rate(self) -> float | None:
        """Of what was handed over, the share that did not fail (then or later), in percent."""
        if not self.attempted:
            return None
        return round(100.0 * max(self.attempted - self.failed, 0) / self.attempted, 1)


@dataclass
class Health:
    period: str
    start: dt.datetime
    end: dt.datetime
    bucket: str  # slot (five minutes), hour, day
    channels: list[SubjectHealth]
    webhooks: list[SubjectHealth]
    plan: Quota

    @property
    def subjects(self) -> list[SubjectHealth]:
        return self.channels + self.webhooks


def _window(period: str, now: dt.datetime, zone: ZoneInfo) -> tuple[str, list[dt.datetime]]:
    """The bucket's kind and the start of every bucket of the period, oldest first (aware)."""
    if period == "hour":
        last = slot_of(now)
        return "slot", [last - dt.timedelta(seconds=SLOT_SECONDS * back) for back in range(11, -1, -1)]
    local = now.astimezone(zone)
    if period == "week":
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        days = [(midnight.date() - dt.timedelta(days=back)) for back in range(6, -1, -1)]
        return "day", [dt.datetime(day.year, day.month, day.day, tzinfo=zone) for day in days]
    top = now.replace(minute=0, second=0, microsecond=0)
    return "hour", [(top - dt.timedelta(hours=back)).astimezone(zone) for back in range(23, -1, -1)]


def _key(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def channel_subject(channel: Channel) -> Subject:
    return Subject(
        kind=ActivitySlot.Subject.CHANNEL, pk=channel.pk, public_id=str(channel.public_id), name=channel.name,
        detail=str(channel.kind_info.label), state=channel.status.lower(),
        state_label=str(channel.get_status_display()), state_since=channel.status_changed_at,
        healthy=channel.status not in DOWN, url=reverse("settings-channel", args=[channel.public_id]))


def integrations_health(*, access: TenantAccess, period: str = DEFAULT_PERIOD,
                        now: dt.datetime | None = None) -> Health:
    period = period if period in PERIODS else DEFAULT_PERIOD
    tenant: Tenant = access.tenant
    now = now or timezone.now()
    zone = ZoneInfo(tenant.time_zone)
    bucket, starts = _window(period, now, zone)
    start = starts[0]
    channels = list(channel_list(access=access).order_by("name", "pk"))
    subjects = [channel_subject(channel) for channel in channels]
    if access.has("webhooks:read"):
        for source in _sources.values():
            subjects += source(access)
    wanted = {(subject.kind, subject.pk) for subject in subjects}

    slots = ActivitySlot.all_objects.filter(tenant=tenant, slot__gte=start)
    if bucket == "hour":
        slots = slots.annotate(bucket=TruncHour("slot", tzinfo=zone))
    elif bucket == "day":
        slots = slots.annotate(bucket=TruncDay("slot", tzinfo=zone))
    rows = (slots.values("subject_kind", "subject_id", "bucket" if bucket != "slot" else "slot")
            .annotate(n_received=Sum("received"), n_attempted=Sum("attempted"), n_failed=Sum("failed"),
                      n_latency=Sum("latency_ms_total"), n_latency_count=Sum("latency_count")).order_by())
    errors = (ActivityError.all_objects.filter(tenant=tenant, slot__gte=start)
              .values("subject_kind", "subject_id", "code").annotate(total=Sum("count")).order_by("-total", "code"))
    last_received = (ActivitySlot.all_objects.filter(tenant=tenant, last_received_at__isnull=False)
                     .values("subject_kind", "subject_id").annotate(last=Max("last_received_at")).order_by())

    found: dict[tuple[str, int], SubjectHealth] = {
        (subject.kind, subject.pk): SubjectHealth(subject=subject, buckets=[Bucket(start=at) for at in starts])
        for subject in subjects}
    index = {_key(at): position for position, at in enumerate(starts)}
    for row in rows:
        health = found.get((row["subject_kind"], row["subject_id"]))
        if health is None:
            continue
        position = index.get(_key(row["bucket"] if bucket != "slot" else row["slot"]))
        if position is not None:
            target = health.buckets[position]
            target.received += row["n_received"] or 0
            target.attempted += row["n_attempted"] or 0
            target.failed += row["n_failed"] or 0
        health.received += row["n_received"] or 0
        health.attempted += row["n_attempted"] or 0
        health.failed += row["n_failed"] or 0
        health.latency_ms_total += row["n_latency"] or 0
        health.latency_count += row["n_latency_count"] or 0
    codes: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for row in errors:
        key = (row["subject_kind"], row["subject_id"])
        if key in wanted and len(codes[key]) < ERRORS_SHOWN:
            codes[key].append((row["code"], row["total"]))
    for row in last_received:
        health = found.get((row["subject_kind"], row["subject_id"]))
        if health is not None:
            health.last_received_at = row["last"]
    for key, health in found.items():
        health.errors = codes.get(key, [])
    tiers: dict[int, int] = {}
    for channel in channels:
        adapter = adapter_for(channel)
        used = daily_sends_used(channel, adapter.daily_send_cap if adapter is not None else None)
        if used is not None:
            found[(ActivitySlot.Subject.CHANNEL, channel.pk)].daily_sends = Quota(used=used[0], limit=used[1])
        if adapter is not None and (limit := adapter.business_initiated_limit):
            tiers[channel.pk] = limit
    if tiers:
        sent = dict(ActivitySlot.all_objects.filter(
            tenant=tenant, subject_kind=ActivitySlot.Subject.CHANNEL, subject_id__in=list(tiers),
            slot__gte=slot_of(now - dt.timedelta(days=1))).values("subject_id").annotate(total=Sum("templates"))
            .order_by().values_list("subject_id", "total"))
        for pk, limit in tiers.items():
            found[(ActivitySlot.Subject.CHANNEL, pk)].business_initiated = Quota(used=sent.get(pk) or 0, limit=limit)
    plan = Quota(used=tenant_messages_this_month(tenant=tenant), limit=tenant.max_messages_per_month)
    return Health(
        period=period, start=start, end=now, bucket=bucket,
        channels=[found[(subject.kind, subject.pk)] for subject in subjects
                  if subject.kind == ActivitySlot.Subject.CHANNEL],
        webhooks=[found[(subject.kind, subject.pk)] for subject in subjects
                  if subject.kind != ActivitySlot.Subject.CHANNEL],
        plan=plan)
