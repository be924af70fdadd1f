"""The counters behind the health page and the alerts: per channel or webhook endpoint and
five minutes (ActivitySlot), and per error code (ActivityError).

They are added to, never counted: the inbound path adds a batch's messages in one statement
(the listener below, after the batch commits), a sender its outcome in one, so that the cost
does not grow with the messages table, and the page reads a few hundred rows whatever the
traffic. Statements run outside the caller's transaction (autocommit, after commit): a counter's
row is held for one statement, never while a provider or an endpoint is waited for. Rows of one
statement are written in key order, so that two writers never wait for each other in a circle."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from config.sql import execute, moment, placeholders
from integrations.models import ActivityError, ActivitySlot

logger = logging.getLogger(__name__)

SLOT_SECONDS = 300
CODE_MAX = 64


def slot_of(at: dt.datetime) -> dt.datetime:
    """The start of the five minutes `at` falls in (UTC)."""
    at = at.astimezone(dt.UTC)
    return at.replace(minute=at.minute - at.minute % (SLOT_SECONDS // 60), second=0, microsecond=0)


@dataclass
class Activity:
    """What to add to one subject's slot."""

    tenant_pk: int
    received: int = 0
    attempted: int = 0
    failed: int = 0
    templates: int = 0
    latency_ms_total: int = 0
    latency_count: int = 0
    last_received_at: dt.datetime | None = None
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: Activity) -> None:
        self.received += other.received
        self.attempted += other.attempted
        self.failed += other.failed
        self.templates += other.templates
        self.latency_ms_total += other.latency_ms_total
        self.latency_count += other.latency_count
        if other.last_received_at and (self.last_received_at is None
                                       or other.last_received_at > self.last_received_at):
            self.last_received_at = other.last_received_at
        self.errors.update(other.errors)


Key = tuple[str, int, dt.datetime]  # subject kind, subject id, slot


class Tally:
    """Activities gathered over a batch, written by `save()` in two statements at most."""

    def __init__(self) -> None:
        self.found: dict[Key, Activity] = {}

    def add(self, *, kind: str, subject_pk: int, tenant_pk: int, at: dt.datetime | None = None,
            received: int = 0, attempted: int = 0, failed: int = 0, templates: int = 0, latency_ms: int | None = None,
            error_code: str = "", last_received_at: dt.datetime | None = None) -> None:
        key = (kind, subject_pk, slot_of(at or timezone.now()))
        activity = self.found.get(key)
        if activity is None:
            activity = self.found[key] = Activity(tenant_pk=tenant_pk)
        activity.received += received
        activity.attempted += attempted
        activity.failed += failed
        activity.templates += templates
        if latency_ms is not None:
            activity.latency_ms_total += max(latency_ms, 0)
            activity.latency_count += 1
        if error_code:
            activity.errors[error_code[:CODE_MAX]] += 1
        if last_received_at and (activity.last_received_at is None or last_received_at > activity.last_received_at):
            activity.last_received_at = last_received_at

    def save(self) -> None:
        if not self.found:
            return
        try:
            with transaction.atomic():  # a savepoint inside the caller's transaction: a failure here is ours only
                _slots_add(sorted(self.found.items()))
                _errors_add(sorted(((key, code), activity.tenant_pk, count) for key, activity in self.found.items()
                                   for code, count in activity.errors.items()))
        except Exception:  # figures of a health page never fail the work they count
            logger.exception("activity counters not written (%s subjects)", len(self.found))
        self.found = {}


_SLOT_COLUMNS = ("received", "attempted", "failed", "templates", "latency_ms_total", "latency_count")


def _slots_add(rows: Iterable[tuple[Key, Activity]]) -> None:
    rows = list(rows)
    table = ActivitySlot._meta.db_table
    columns = ("tenant_id", "subject_kind", "subject_id", "slot", *_SLOT_COLUMNS, "last_received_at")
    values: list[object] = []
    for (kind, subject_pk, slot), activity in rows:
        values += [activity.tenant_pk, kind, subject_pk, moment(slot), *(getattr(activity, name) for name in
                                                                          _SLOT_COLUMNS),
                   moment(activity.last_received_at) if activity.last_received_at else None]
    row = f"({placeholders(columns)})"
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in _SLOT_COLUMNS)
    latest = (f"last_received_at = CASE WHEN {table}.last_received_at IS NULL "
              f"OR excluded.last_received_at > {table}.last_received_at "
              f"THEN excluded.last_received_at ELSE {table}.last_received_at END")
    execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(rows))} "
            f"ON CONFLICT (subject_kind, subject_id, slot) DO UPDATE SET {added}, {latest}", values)


def _errors_add(rows: list[tuple[tuple[Key, str], int, int]]) -> None:
    if not rows:
        return
    table = ActivityError._meta.db_table
    values: list[object] = []
    for ((kind, subject_pk, slot), code), tenant_pk, count in rows:
        values += [tenant_pk, kind, subject_pk, moment(slot), code, count]
    row = "(%s, %s, %s, %s, %s, %s)"
    execute(f"INSERT INTO {table} (tenant_id, subject_kind, subject_id, slot, code, count) "
            f"VALUES {', '.join([row] * len(rows))} "
            f"ON CONFLICT (subject_kind, subject_id, slot, code) DO UPDATE SET count = {table}.count + excluded.count",
            values)


def activity_add(*, kind: str, subject_pk: int, tenant_pk: int, **counts: object) -> None:
    """One subject's activity, written at once (a sender's outcome)."""
    tally = Tally()
    tally.add(kind=kind, subject_pk=subject_pk, tenant_pk=tenant_pk, **counts)  # type: ignore[arg-type]
    tally.save()


def activity_prune(*, older_than: dt.timedelta, limit: int = 20_000) -> int:
    """Delete counters older than `older_than` (at most `limit` rows of each kind a call)."""
    cutoff = timezone.now() - older_than
    removed = 0
    for model in (ActivitySlot, ActivityError):
        ids = list(model.all_objects.filter(slot__lt=cutoff).order_by().values_list("pk", flat=True)[:limit])
        if ids:
            removed += model.all_objects.filter(pk__in=ids).delete()[0]
    return removed
