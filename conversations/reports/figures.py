"""The reports' figures, read from their rows (conversations.reports.aggregates), never from the
messages: over a period of days in the tenant's time zone, by day, week or month, and by channel,
team, agent and label, with the median and 90th percentile of the first response and resolution
times of the conversations resolved in the period. A fixed number of statements whatever the
traffic (the query-count tests hold it): PostgreSQL computes the percentiles (percentile_cont),
other databases get the resolved rows' two times and Python interpolates as percentile_cont does.

Members who do not see every channel (viewers, keys limited to channels) get the figures of
their channels only."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import TenantAccess
from accounts.models import User
from channels_app.models import Channel
from channels_app.selectors import channel_list
from config.errors import ValidationFailed
from config.ids import uuid_or_none
from conversations.models import Label, ReportConversation, ReportHour, Team

GROUPS = {"day": gettext_lazy("Day"), "week": gettext_lazy("Week"), "month": gettext_lazy("Month")}
_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
DEFAULT_DAYS = 30
MAX_DAYS = 366
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)  # what a report may name


@dataclass(frozen=True)
class ReportFilters:
    start: dt.date  # the first day, in the tenant's time zone
    end: dt.date  # the last day (included)
    group: str = "day"
    channel: Channel | None = None
    team: Team | None = None
    agent: User | None = None

    def querystring(self) -> str:
        from urllib.parse import urlencode

        found = {"from": self.start.isoformat(), "to": self.end.isoformat(), "group": self.group}
        for name, value in (("channel", self.channel), ("team", self.team), ("agent", self.agent)):
            if value is not None:
                found[name] = str(value.public_id)
        return urlencode(found)


def report_filters_parse(*, access: TenantAccess, params: Mapping[str, str], today: dt.date | None = None,
                         blank_is_unset: bool = True) -> ReportFilters:
    """The page's and the API's query parameters: from, to (YYYY-MM-DD, the tenant's days), group
    (day, week, month), channel, team, agent (public ids). Raises ValidationFailed. The page's
    form sends a blank for "all"; the API (blank_is_unset=False) takes a parameter given or none."""
    today = today or timezone.now().astimezone(ZoneInfo(access.tenant.time_zone)).date()
    errors: dict[str, list[str]] = {}
    if not blank_is_unset:
        for name in ("from", "to", "group", "channel", "team", "agent"):
            if name in params and not (params.get(name) or "").strip():
                errors[name] = [_("Leave this out rather than blank.")]

    def day(name: str, default: dt.date) -> dt.date:
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        try:
            found = dt.date.fromisoformat(raw)
        except ValueError:
            errors[name] = [_("Give a date as YYYY-MM-DD.")]
            return default
        if not FIRST_DAY <= found <= LAST_DAY:
            errors[name] = [_("Give a date between %(first)s and %(last)s.") % {
                "first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}]
            return default
        return found

    end = day("to", today)
    start = day("from", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if not errors and start > end:
        errors["from"] = [_("The first day comes after the last.")]
    elif not errors and (end - start).days >= MAX_DAYS:
        errors["from"] = [_("A report covers at most %(days)s days.") % {"days": MAX_DAYS}]
    group = params.get("group") or "day"
    if group not in GROUPS:
        errors["group"] = [_("Group by day, week or month.")]
        group = "day"

    def one(name: str, queryset: QuerySet[Any], unknown: str) -> Any:
        raw = (params.get(name) or "").strip()
        if not raw:
            return None
        public_id = uuid_or_none(raw)
        found = queryset.filter(public_id=public_id).first() if public_id else None
        if found is None:
            errors[name] = [unknown]
        return found

    channel = one("channel", channel_list(access=access, include_archived=True), _("Unknown channel."))
    team = one("team", Team.all_objects.filter(tenant=access.tenant), _("Unknown team."))
    agent = one("agent", report_agent_choices(access=access), _("Unknown member."))
    if errors:
        raise ValidationFailed(_("Some of the report's filters are not valid."), details=errors)
    return ReportFilters(start=start, end=end, group=group, channel=channel, team=team, agent=agent)


def report_agent_choices(*, access: TenantAccess) -> QuerySet[User]:
    """The members a report may be narrowed to (those of the tenant, by name)."""
    return User.objects.filter(memberships__tenant=access.tenant).distinct().order_by("full_name", "email")


@dataclass(frozen=True)
class Times:
    """Of the conversations resolved: how many, and their times in seconds (None: none)."""

    resolved: int = 0
    first_response_median: float | None = None
    first_response_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None


@dataclass
class Figures:
    opened: int = 0
    resolved: int = 0
    messages_in: int = 0
    messages_out: int = 0
    times: Times = field(default_factory=Times)

    def add(self, row: Mapping[str, Any]) -> None:
        self.opened += row["n_opened"] or 0
        self.resolved += row["n_resolved"] or 0
        self.messages_in += row["n_in"] or 0
        self.messages_out += row["n_out"] or 0


@dataclass
class Bucket:
    start: dt.datetime
    figures: Figures


@dataclass
class Row:
    """One channel, team, agent or label, by its public id (None: none, or deleted)."""

    id: uuid.UUID | None
    name: str
    figures: Figures


@dataclass
class Report:
    filters: ReportFilters
    time_zone: str
    start: dt.datetime
    end: dt.datetime  # excluded
    totals: Figures
    series: list[Bucket]
    channels: list[Row]
    teams: list[Row]
    agents: list[Row]
    labels: list[Row]
    # Messages in by weekday (Monday first) and hour of the day, in the tenant's time zone.
    busiest_hours: list[list[int]]


def percentile(values: list[float], fraction: float) -> float | None:
    """As PostgreSQL's percentile_cont: interpolated between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class PercentileCont(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


_SUMS = {"n_opened": Sum("conversations_opened"), "n_resolved": Sum("conversations_resolved"),
         "n_in": Sum("messages_in"), "n_out": Sum("messages_out")}


def _times(resolved: QuerySet[ReportConversation], group: str | None) -> dict[Any, Times]:
    """The times of the resolved rows, by `group` (a column or annotation; None: all)."""
    names = [group] if group else []
    if connection.vendor == "postgresql":
        aggregates = {"n": Count("pk"), "frt50": PercentileCont("first_response_seconds", fraction=0.5),
                      "frt90": PercentileCont("first_response_seconds", fraction=0.9),
                      "res50": PercentileCont("resolution_seconds", fraction=0.5),
                      "res90": PercentileCont("resolution_seconds", fraction=0.9)}
        rows = ([resolved.order_by().aggregate(**aggregates)] if group is None
                else resolved.values(group).annotate(**aggregates).order_by())
        return {row[group] if group else None: Times(row["n"], row["frt50"], row["frt90"], row["res50"], row["res90"])
                for row in rows if row["n"]}
    gathered: dict[Any, tuple[list[float], list[float], list[int]]] = {}
    for *key, first_response, resolution in resolved.values_list(
            *names, "first_response_seconds", "resolution_seconds").order_by():
        lists = gathered.setdefault(key[0] if group else None, ([], [], [0]))
        if first_response is not None:
            lists[0].append(first_response)
        if resolution is not None:
            lists[1].append(resolution)
        lists[2][0] += 1
    return {key: Times(count[0], percentile(frt, 0.5), percentile(frt, 0.9), percentile(res, 0.5),
                       percentile(res, 0.9)) for key, (frt, res, count) in gathered.items()}


def _bucket_starts(filters: ReportFilters, zone: ZoneInfo) -> list[dt.datetime]:
    day = filters.start
    if filters.group == "week":
        day -= dt.timedelta(days=day.weekday())
    elif filters.group == "month":
        day = day.replace(day=1)
    starts = []
    while day <= filters.end:
        starts.append(dt.datetime(day.year, day.month, day.day, tzinfo=zone))
        if filters.group == "day":
            day += dt.timedelta(days=1)
        elif filters.group == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return starts


def _key(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def report_figures(*, access: TenantAccess, filters: ReportFilters) -> Report:
    tenant = access.tenant
    zone = ZoneInfo(tenant.time_zone)
    start = dt.datetime(filters.start.year, filters.start.month, filters.start.day, tzinfo=zone)
    last = filters.end + dt.timedelta(days=1)
    end = dt.datetime(last.year, last.month, last.day, tzinfo=zone)
    trunc = _TRUNC[filters.group]

    hours = ReportHour.all_objects.filter(tenant=tenant, hour__gte=start, hour__lt=end)
    openings = ReportConversation.all_objects.filter(tenant=tenant)
    if not access.sees_all_channels:
        visible = channel_list(access=access, include_archived=True).values("pk")
        hours, openings = hours.filter(channel_id__in=visible), openings.filter(channel_id__in=visible)
    for name, value in (("channel_id", filters.channel), ("team_key", filters.team), ("agent_key", filters.agent)):
        if value is not None:
            hours, openings = hours.filter(**{name: value.pk}), openings.filter(**{name: value.pk})
    resolved = openings.filter(resolved_at__gte=start, resolved_at__lt=end)
    opened = openings.filter(opened_at__gte=start, opened_at__lt=end)

    # The volumes: by bucket, by channel × team × agent (folded below), by weekday and hour.
    by_bucket: list[Any] = list(hours.annotate(bucket=trunc("hour", tzinfo=zone)).values("bucket").annotate(**_SUMS)
                     .order_by())
    by_subject: list[Any] = list(hours.values("channel_id", "team_key", "agent_key").annotate(**_SUMS).order_by())
    by_hour: list[Any] = list(hours.annotate(weekday=ExtractIsoWeekDay("hour", tzinfo=zone), at=ExtractHour("hour", tzinfo=zone))
                   .values("weekday", "at").annotate(n=Sum("messages_in")).order_by())
    by_label: list[Any] = list(opened.values("conversation__labels").annotate(
        n_opened=Count("pk"), n_in=Sum("messages_in"), n_out=Sum("messages_out")).order_by())
    # The times.
    times_all = _times(resolved, None)
    times_bucket = _times(resolved.annotate(bucket=trunc("resolved_at", tzinfo=zone)), "bucket")
    times_channel = _times(resolved, "channel_id")
    times_team = _times(resolved, "team_key")
    times_agent = _times(resolved, "agent_key")
    times_label = _times(resolved, "conversation__labels")
    # The names.
    channels = {channel.pk: channel for channel in channel_list(access=access, include_archived=True)}
    teams = {team.pk: team for team in Team.all_objects.filter(tenant=tenant)}
    labels = {label.pk: label for label in Label.all_objects.filter(tenant=tenant)}
    agent_pks = {row["agent_key"] for row in by_subject} | set(times_agent)
    agents = {user.pk: user for user in User.objects.filter(pk__in=sorted(pk for pk in agent_pks if pk))}

    totals = Figures(times=times_all.get(None, Times()))
    series = {_key(at): Bucket(start=at, figures=Figures()) for at in _bucket_starts(filters, zone)}
    for row in by_bucket:
        bucket = series.get(_key(row["bucket"]))
        if bucket is not None:
            bucket.figures.add(row)
    for key, times in times_bucket.items():
        if key is not None and (bucket := series.get(_key(key))) is not None:
            bucket.figures.times = times
    per_channel: dict[int, Figures] = {}
    per_team: dict[int, Figures] = {}
    per_agent: dict[int, Figures] = {}
    for row in by_subject:
        totals.add(row)
        per_channel.setdefault(row["channel_id"], Figures()).add(row)
        per_team.setdefault(row["team_key"], Figures()).add(row)
        per_agent.setdefault(row["agent_key"], Figures()).add(row)
    heat = [[0] * 24 for _weekday in range(7)]
    for row in by_hour:
        heat[row["weekday"] - 1][row["at"]] += row["n"] or 0
    per_label: dict[int, Figures] = {}
    for row in by_label:
        if row["conversation__labels"] is not None:
            figures = per_label.setdefault(row["conversation__labels"], Figures())
            figures.opened, figures.messages_in, figures.messages_out = row["n_opened"], row["n_in"] or 0, \
                row["n_out"] or 0

    def rows(found: dict[int, Figures], times: dict[Any, Times], names: Mapping[int, Any], *, none: str,
             gone: str, everyone: Iterable[int] = (), resolved_from_times: bool = False) -> list[Row]:
        for pk in [*times, *everyone]:
            if pk is not None:
                found.setdefault(pk, Figures())
        result = []
        for pk, figures in found.items():
            figures.times = times.get(pk, Times())
            if resolved_from_times:  # labels: their conversations resolved in the period
                figures.resolved = figures.times.resolved
            subject = names.get(pk)
            name = (str(getattr(subject, "name", subject)) if subject is not None else gone) if pk else none
            result.append(Row(id=subject.public_id if subject is not None else None, name=name, figures=figures))
        return sorted(result, key=lambda row: (not row.id, row.name.lower()))

    shown_channels = [pk for pk in channels if filters.channel is None or pk == filters.channel.pk]
    return Report(
        filters=filters, time_zone=tenant.time_zone, start=start, end=end, totals=totals,
        series=list(series.values()),
        channels=rows(per_channel, times_channel, channels, none="", gone=_("Deleted channel"),
                      everyone=shown_channels if filters.team is None and filters.agent is None else ()),
        teams=rows(per_team, times_team, teams, none=_("No team"), gone=_("Deleted team")),
        agents=rows(per_agent, times_agent, {pk: _AgentName(user) for pk, user in agents.items()},
                    none=_("Unassigned"), gone=_("Former member")),
        labels=rows(per_label, times_label, labels, none="", gone=_("Deleted label"), resolved_from_times=True),
        busiest_hours=heat)


class _AgentName:
    def __init__(self, user: User) -> None:
        self.public_id = user.public_id
        self.name = user.get_full_name() or user.email

    def __str__(self) -> str:
        return self.name
