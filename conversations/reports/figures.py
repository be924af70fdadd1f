"""The reports' figures, read from their rows (conversations.reports.aggregates), never from the
messages: over a period of days in the tenant's time zone, by day, week or month, and by channel,
team, agent and label, with the median and 90th percentile of the first response and resolution
times of the conversations resolved in the period. A fixed number of statements whatever the
traffic (the query-count tests hold it): PostgreSQL computes the percentiles (percentile_cont),
other databases get the resolved rows' two times and Python interpolates as percentile_cont does.

The period's hourly rows are read once, summed by hour (UTC) and by channel × team × agent, and the
days, weeks, months and the busiest hours are folded from those hours in Python, in the tenant's
time zone: converting the zone of each of a month's ~100,000 rows in SQL, once for the periods and
again for the heat map, was most of the page's time at ten million messages. On PostgreSQL one
statement (GROUPING SETS) gives both sums, one the times of every breakdown, one the labels' figures.

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
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import TenantAccess
from accounts.models import User
from channels_app.models import Channel
from channels_app.selectors import channel_list
from config.errors import ValidationFailed
from config.ids import uuid_or_none
from config.sql import fetch_all
from conversations.models import Conversation, Label, ReportConversation, ReportHour, Team

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


_COUNTS = ("conversations_opened", "conversations_resolved", "messages_in", "messages_out")
_SUMS = {f"sum_{name}": Sum(name) for name in _COUNTS}
_SUBJECT = ("channel_id", "team_key", "agent_key")
_TIMES = ("first_response_seconds", "resolution_seconds")
# The times' breakdowns: the column of each (None: the period's total).
_BREAKDOWNS: dict[str, str | None] = {"all": None, "bucket": "bucket", "channel": "channel_id", "team": "team_key",
                                      "agent": "agent_key"}

Counts = tuple[int, int, int, int]  # conversations opened, resolved, messages in, out


def _wrapped(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """The ORM's statement (tenant, channels seen, filters) as a subquery to group in plain SQL, for
    what the ORM cannot say: grouping sets, aggregates with a FILTER."""
    sql, params = queryset.order_by().query.sql_with_params()
    return f"({sql}) AS r", tuple(params)


def _volumes(hours: QuerySet[ReportHour]) -> tuple[list[tuple[dt.datetime, Counts]],
                                                   list[tuple[tuple[int, int, int], Counts]]]:
    """The period's hourly rows summed by hour (UTC) and by channel × team × agent: one reading of
    the rows on PostgreSQL (GROUPING SETS), two elsewhere."""
    if connection.vendor != "postgresql":
        by_hour = [(row[0], _counts(row[1:])) for row in hours.values("hour").annotate(**_SUMS).order_by()
                   .values_list("hour", *_SUMS)]
        by_subject = [(tuple(row[:3]), _counts(row[3:])) for row in hours.values(*_SUBJECT).annotate(**_SUMS)
                      .order_by().values_list(*_SUBJECT, *_SUMS)]
        return by_hour, by_subject
    source, params = _wrapped(hours.values_list("hour", *_SUBJECT, *_COUNTS))
    sums = ", ".join(f"SUM(r.{name})" for name in _COUNTS)
    by_hour, by_subject = [], []
    for grouped_by_hour, hour, channel_pk, team_key, agent_key, *counts in fetch_all(
            f"SELECT GROUPING(r.hour), r.hour, r.channel_id, r.team_key, r.agent_key, {sums} FROM {source} "
            f"GROUP BY GROUPING SETS ((r.hour), (r.channel_id, r.team_key, r.agent_key))", params):
        if grouped_by_hour == 0:
            by_hour.append((hour, _counts(counts)))
        else:
            by_subject.append(((channel_pk, team_key, agent_key), _counts(counts)))
    return by_hour, by_subject


def _counts(values: Iterable[Any]) -> Counts:
    opened, resolved, messages_in, messages_out = (int(value or 0) for value in values)
    return opened, resolved, messages_in, messages_out


def _add(figures: Figures, counts: Counts) -> None:
    figures.opened += counts[0]
    figures.resolved += counts[1]
    figures.messages_in += counts[2]
    figures.messages_out += counts[3]


def _times_by_breakdown(resolved: QuerySet[ReportConversation], trunc: Any, zone: ZoneInfo
                        ) -> dict[str, dict[Any, Times]]:
    """The times of the resolved rows in total and by period (`trunc` in `zone`), channel, team and
    agent (_BREAKDOWNS): one statement (PostgreSQL: GROUPING SETS; elsewhere the rows' times, the
    percentiles interpolated in Python)."""
    found: dict[str, dict[Any, Times]] = {name: {} for name in _BREAKDOWNS}
    resolved = resolved.annotate(bucket=trunc("resolved_at", tzinfo=zone))
    columns = [column for column in _BREAKDOWNS.values() if column]
    if connection.vendor == "postgresql":
        source, params = _wrapped(resolved.values_list(*columns, *_TIMES))
        names = ", ".join(f"r.{column}" for column in columns)
        # GROUPING(...) is a bitmask of the columns a row is NOT grouped by, the first the highest bit.
        masks = {sum(1 << (len(columns) - 1 - index) for index, other in enumerate(columns) if other != column): name
                 for name, column in _BREAKDOWNS.items()}
        for mask, *keys, count, frt, res in fetch_all(
                f"SELECT GROUPING({names}), {names}, COUNT(*), {_percentiles_sql('r')} FROM {source} "
                f"GROUP BY GROUPING SETS ((), {', '.join(f'({name})' for name in names.split(', '))})", params):
            name = masks[mask]
            column = _BREAKDOWNS[name]
            key = keys[columns.index(column)] if column else None
            if name == "bucket" and key is not None:
                key = timezone.make_aware(key, zone) if timezone.is_naive(key) else key
            if count:
                found[name][key] = Times(count, *(frt or (None, None)), *(res or (None, None)))
        return found
    gathered: dict[str, dict[Any, tuple[list[float], list[float], list[int]]]] = {name: {} for name in _BREAKDOWNS}
    for *keys, first_response, resolution in resolved.values_list(*columns, *_TIMES).order_by():
        for name, column in _BREAKDOWNS.items():
            _gather(gathered[name], keys[columns.index(column)] if column else None, first_response, resolution)
    return {name: _interpolated(lists) for name, lists in gathered.items()}


def _percentiles_sql(alias: str, where: str = "") -> str:
    """The median and 90th percentile of each time, an array of the two a time (one sort of a
    group's times gives both)."""
    kept = f" FILTER (WHERE {where})" if where else ""
    return ", ".join(f"PERCENTILE_CONT(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {alias}.{column}){kept}"
                     for column in _TIMES)


def _gather(gathered: dict[Any, tuple[list[float], list[float], list[int]]], key: Any,
            first_response: float | None, resolution: float | None) -> None:
    lists = gathered.setdefault(key, ([], [], [0]))
    if first_response is not None:
        lists[0].append(first_response)
    if resolution is not None:
        lists[1].append(resolution)
    lists[2][0] += 1


def _interpolated(gathered: dict[Any, tuple[list[float], list[float], list[int]]]) -> dict[Any, Times]:
    return {key: Times(count[0], percentile(frt, 0.5), percentile(frt, 0.9), percentile(res, 0.5),
                       percentile(res, 0.9)) for key, (frt, res, count) in gathered.items()}


def _labels(openings: QuerySet[ReportConversation], start: dt.datetime, end: dt.datetime
            ) -> tuple[dict[int, Figures], dict[Any, Times]]:
    """By the labels the conversations carry now: the openings of the period (opened, messages in
    and out) and the times of those resolved in it. The label table is joined to the openings by
    their conversation (the conversations' table has nothing to add); on PostgreSQL one statement
    reads both, each aggregate keeping its rows (FILTER)."""
    through = Conversation.labels.through._meta.db_table
    per_label: dict[int, Figures] = {}
    if connection.vendor == "postgresql":
        in_period = openings.filter(Q(opened_at__gte=start, opened_at__lt=end)
                                    | Q(resolved_at__gte=start, resolved_at__lt=end))
        source, params = _wrapped(in_period.values_list("conversation_id", "opened_at", "resolved_at",
                                                        "messages_in", "messages_out", *_TIMES))
        opened, resolved = "r.opened_at >= %s AND r.opened_at < %s", "r.resolved_at >= %s AND r.resolved_at < %s"
        times: dict[Any, Times] = {}
        for label_pk, n_opened, n_in, n_out, n_resolved, frt, res in fetch_all(
                f"SELECT l.label_id, COUNT(*) FILTER (WHERE {opened}), SUM(r.messages_in) FILTER (WHERE {opened}), "
                f"SUM(r.messages_out) FILTER (WHERE {opened}), COUNT(*) FILTER (WHERE {resolved}), "
                f"{_percentiles_sql('r', resolved)} FROM {source} JOIN {through} l ON l.conversation_id = "
                f"r.conversation_id GROUP BY l.label_id",
                [start, end] * 6 + list(params)):
            if n_opened:
                per_label[label_pk] = Figures(opened=n_opened, messages_in=n_in or 0, messages_out=n_out or 0)
            if n_resolved:
                times[label_pk] = Times(n_resolved, *(frt or (None, None)), *(res or (None, None)))
        return per_label, times
    opened_rows = openings.filter(opened_at__gte=start, opened_at__lt=end).values_list("conversation_id", "messages_in",
                                                                                     "messages_out")
    source, params = _wrapped(opened_rows)
    for label_pk, n_opened, n_in, n_out in fetch_all(
            f"SELECT l.label_id, COUNT(*), SUM(r.messages_in), SUM(r.messages_out) FROM {source} "
            f"JOIN {through} l ON l.conversation_id = r.conversation_id GROUP BY l.label_id", params):
        per_label[label_pk] = Figures(opened=n_opened, messages_in=n_in or 0, messages_out=n_out or 0)
    gathered: dict[Any, tuple[list[float], list[float], list[int]]] = {}
    source, params = _wrapped(openings.filter(resolved_at__gte=start, resolved_at__lt=end).values_list(
        "conversation_id", *_TIMES))
    for label_pk, first_response, resolution in fetch_all(
            f"SELECT l.label_id, r.first_response_seconds, r.resolution_seconds FROM {source} "
            f"JOIN {through} l ON l.conversation_id = r.conversation_id", params):
        _gather(gathered, label_pk, first_response, resolution)
    return per_label, _interpolated(gathered)


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


def _bucket_of(day: dt.date, group: str) -> dt.date:
    """The first day of the day's, week's (Monday) or month's bucket, as the database truncates."""
    if group == "week":
        return day - dt.timedelta(days=day.weekday())
    if group == "month":
        return day.replace(day=1)
    return day


def _key(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def report_figures(*, access: TenantAccess, filters: ReportFilters) -> Report:
    tenant = access.tenant
    zone = ZoneInfo(tenant.time_zone)
    start = dt.datetime(filters.start.year, filters.start.month, filters.start.day, tzinfo=zone)
    last = filters.end + dt.timedelta(days=1)
    end = dt.datetime(last.year, last.month, last.day, tzinfo=zone)

    hours = ReportHour.all_objects.filter(tenant=tenant, hour__gte=start, hour__lt=end)
    openings = ReportConversation.all_objects.filter(tenant=tenant)
    if not access.sees_all_channels:
        visible = channel_list(access=access, include_archived=True).values("pk")
        hours, openings = hours.filter(channel_id__in=visible), openings.filter(channel_id__in=visible)
    for name, value in (("channel_id", filters.channel), ("team_key", filters.team), ("agent_key", filters.agent)):
        if value is not None:
            hours, openings = hours.filter(**{name: value.pk}), openings.filter(**{name: value.pk})
    resolved = openings.filter(resolved_at__gte=start, resolved_at__lt=end)

    by_hour, by_subject = _volumes(hours)
    times = _times_by_breakdown(resolved, _TRUNC[filters.group], zone)
    per_label, times_label = _labels(openings, start, end)
    # The names.
    channels = {channel.pk: channel for channel in channel_list(access=access, include_archived=True)}
    teams = {team.pk: team for team in Team.all_objects.filter(tenant=tenant)}
    labels = {label.pk: label for label in Label.all_objects.filter(tenant=tenant)}
    agent_pks = {subject[2] for subject, _sums in by_subject} | set(times["agent"])
    agents = {user.pk: user for user in User.objects.filter(pk__in=sorted(pk for pk in agent_pks if pk))}

    totals = Figures(times=times["all"].get(None, Times()))
    series = {_key(at): Bucket(start=at, figures=Figures()) for at in _bucket_starts(filters, zone)}
    heat = [[0] * 24 for _weekday in range(7)]
    for hour, counts in by_hour:
        local = hour.astimezone(zone)
        day = _bucket_of(local.date(), filters.group)
        bucket = series.get(_key(dt.datetime(day.year, day.month, day.day, tzinfo=zone)))
        if bucket is not None:
            _add(bucket.figures, counts)
        heat[local.weekday()][local.hour] += counts[2]
    for key, found in times["bucket"].items():
        if key is not None and (bucket := series.get(_key(key))) is not None:
            bucket.figures.times = found
    per_channel: dict[int, Figures] = {}
    per_team: dict[int, Figures] = {}
    per_agent: dict[int, Figures] = {}
    for (channel_pk, team_key, agent_key), counts in by_subject:
        _add(totals, counts)
        _add(per_channel.setdefault(channel_pk, Figures()), counts)
        _add(per_team.setdefault(team_key, Figures()), counts)
        _add(per_agent.setdefault(agent_key, Figures()), counts)

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
        channels=rows(per_channel, times["channel"], channels, none="", gone=_("Deleted channel"),
                      everyone=shown_channels if filters.team is None and filters.agent is None else ()),
        teams=rows(per_team, times["team"], teams, none=_("No team"), gone=_("Deleted team")),
        agents=rows(per_agent, times["agent"], {pk: _AgentName(user) for pk, user in agents.items()},
                    none=_("Unassigned"), gone=_("Former member")),
        labels=rows(per_label, times_label, labels, none="", gone=_("Deleted label"), resolved_from_times=True),
        busiest_hours=heat)


class _AgentName:
    def __init__(self, user: User) -> None:
        self.public_id = user.public_id
        self.name = user.get_full_name() or user.email

    def __str__(self) -> str:
        return self.name
