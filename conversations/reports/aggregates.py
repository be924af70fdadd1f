"""The reports' rows, kept as things happen: per hour, channel, agent and team what was opened,
resolved, received and sent (ReportHour), and per time a conversation was open when it was
answered first and resolved (ReportConversation).

The listener below takes a batch of events after their commit and writes it in at most three
statements whatever its size (one read, two upserts that add), as the health counters do; the
rebuild replays the stored history (messages, and the event log's status changes) into the same
tally, batch by batch, for a tenant that had figures before the listener ran or after a fault."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.sql import execute, fetch_all, moment, moment_read, one_of, placeholders
from conversations.events import (
    ConversationCreated,
    ConversationEvent,
    ConversationStatusChanged,
    MessageCreated,
    MessageEvent,
)
from conversations.models import Conversation, Message, ReportConversation, ReportHour
from tenants.events import DomainEvent
from tenants.models import Tenant, TenantEvent

logger = logging.getLogger(__name__)

RESOLVED = Conversation.Status.RESOLVED
INBOUND, OUTBOUND = Message.Direction.INBOUND, Message.Direction.OUTBOUND
AGENT = Message.SenderType.AGENT

HourKey = tuple[int, dt.datetime, int, int, int]  # tenant, hour (UTC), channel, agent, team
_HOUR_COUNTS = ("conversations_opened", "conversations_resolved", "messages_in", "messages_out")


ROWS_A_STATEMENT = 1000  # rows of one INSERT (12 parameters a row at most)


def hour_of(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class ConversationState:
    """What a row is filed under: the conversation's channel, agent and team (0: none)."""

    pk: int
    tenant_pk: int
    channel_pk: int
    agent_key: int
    team_key: int
    created_at: dt.datetime
    status: str


@dataclass
class Opening:
    """What to write of one time a conversation was open (added to its row, if it has one)."""

    tenant_pk: int
    conversation_pk: int
    opened_at: dt.datetime
    channel_pk: int
    agent_key: int
    team_key: int
    first_response_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    messages_in: int = 0
    messages_out: int = 0

    def seconds_to(self, at: dt.datetime | None) -> int | None:
        return None if at is None else max(int((at - self.opened_at).total_seconds()), 0)


@dataclass
class ReportTally:
    """Changes gathered over a batch (or a rebuild's batch), written by `save()`."""

    hours: dict[HourKey, list[int]] = field(default_factory=dict)
    openings: dict[tuple[int, dt.datetime], Opening] = field(default_factory=dict)
    # The opening each conversation is in now (None: resolved), as the batch goes.
    current: dict[int, Opening | None] = field(default_factory=dict)

    def count(self, state: ConversationState, at: dt.datetime, column: int, *, agent_key: int | None = None) -> None:
        key = (state.tenant_pk, hour_of(at), state.channel_pk,
               state.agent_key if agent_key is None else agent_key, state.team_key)
        counts = self.hours.get(key)
        if counts is None:
            counts = self.hours[key] = [0, 0, 0, 0]
        counts[column] += 1

    def open(self, state: ConversationState, at: dt.datetime) -> Opening:
        opening = Opening(tenant_pk=state.tenant_pk, conversation_pk=state.pk, opened_at=at,
                          channel_pk=state.channel_pk, agent_key=state.agent_key, team_key=state.team_key)
        self.openings[(state.pk, at)] = self.current[state.pk] = opening
        self.count(state, at, 0)
        return opening

    def known(self, state: ConversationState, opened_at: dt.datetime, first_response_at: dt.datetime | None
              ) -> None:
        """The conversation's opening already stored (it is added to, not counted again)."""
        opening = Opening(tenant_pk=state.tenant_pk, conversation_pk=state.pk, opened_at=opened_at,
                          channel_pk=state.channel_pk, agent_key=state.agent_key, team_key=state.team_key,
                          first_response_at=first_response_at)
        self.current[state.pk] = opening

    def _touch(self, opening: Opening) -> None:
        self.openings.setdefault((opening.conversation_pk, opening.opened_at), opening)

    def resolve(self, state: ConversationState, at: dt.datetime) -> None:
        opening = self.current.get(state.pk)
        if opening is None and state.pk not in self.current:  # open since before the figures were kept
            opening = Opening(tenant_pk=state.tenant_pk, conversation_pk=state.pk, opened_at=state.created_at,
                              channel_pk=state.channel_pk, agent_key=state.agent_key, team_key=state.team_key)
        if opening is not None:
            opening.resolved_at = at
            self._touch(opening)
        self.current[state.pk] = None
        self.count(state, at, 1)

    def message(self, state: ConversationState, *, at: dt.datetime, direction: str, sender_type: str,
                sender_pk: int | None) -> None:
        inbound = direction == INBOUND
        self.count(state, at, 2 if inbound else 3, agent_key=None if inbound else sender_pk or 0)
        opening = self.current.get(state.pk)
        if opening is None and state.pk not in self.current and state.status != RESOLVED:
            opening = Opening(tenant_pk=state.tenant_pk, conversation_pk=state.pk, opened_at=state.created_at,
                              channel_pk=state.channel_pk, agent_key=state.agent_key, team_key=state.team_key)
            self.current[state.pk] = opening
        if opening is None:
            return
        if inbound:
            opening.messages_in += 1
        else:
            opening.messages_out += 1
            if sender_type == AGENT and opening.first_response_at is None and at >= opening.opened_at:
                opening.first_response_at = at
        self._touch(opening)

    def save(self) -> None:
        hours = sorted(self.hours.items())
        openings = [self.openings[key] for key in sorted(self.openings)]
        # In statements of ROWS_A_STATEMENT rows: PostgreSQL takes at most 65,535 parameters (a
        # rebuild's batch of conversations holds many hours and openings).
        for start in range(0, len(hours), ROWS_A_STATEMENT):
            _hours_add(hours[start:start + ROWS_A_STATEMENT])
        for start in range(0, len(openings), ROWS_A_STATEMENT):
            _openings_add(openings[start:start + ROWS_A_STATEMENT])
        self.hours, self.openings, self.current = {}, {}, {}


def _hours_add(rows: Sequence[tuple[HourKey, list[int]]]) -> None:
    table = ReportHour._meta.db_table
    columns = ("tenant_id", "hour", "channel_id", "agent_key", "team_key", *_HOUR_COUNTS)
    values: list[object] = []
    for (tenant_pk, hour, channel_pk, agent_key, team_key), counts in rows:
        values += [tenant_pk, moment(hour), channel_pk, agent_key, team_key, *counts]
    row = f"({placeholders(columns)})"
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in _HOUR_COUNTS)
    execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(rows))} "
            f"ON CONFLICT (tenant_id, hour, channel_id, agent_key, team_key) DO UPDATE SET {added}", values)


def _openings_add(openings: Sequence[Opening]) -> None:
    table = ReportConversation._meta.db_table
    columns = ("tenant_id", "conversation_id", "opened_at", "channel_id", "agent_key", "team_key",
               "first_response_at", "first_response_seconds", "resolved_at", "resolution_seconds",
               "messages_in", "messages_out")
    values: list[object] = []
    for one in openings:
        values += [one.tenant_pk, one.conversation_pk, moment(one.opened_at), one.channel_pk, one.agent_key,
                   one.team_key, moment(one.first_response_at) if one.first_response_at else None,
                   one.seconds_to(one.first_response_at), moment(one.resolved_at) if one.resolved_at else None,
                   one.seconds_to(one.resolved_at), one.messages_in, one.messages_out]
    row = f"({placeholders(columns)})"
    kept = ", ".join(f"{name} = COALESCE({table}.{name}, excluded.{name})"
                     for name in ("first_response_at", "first_response_seconds"))
    latest = ", ".join(f"{name} = COALESCE(excluded.{name}, {table}.{name})"
                       for name in ("resolved_at", "resolution_seconds"))
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in ("messages_in", "messages_out"))
    execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(openings))} "
            f"ON CONFLICT (conversation_id, opened_at) DO UPDATE SET channel_id = excluded.channel_id, "
            f"agent_key = excluded.agent_key, team_key = excluded.team_key, {kept}, {latest}, {added}", values)


def _states(pks: Iterable[int]) -> dict[int, ConversationState]:
    return {pk: ConversationState(pk=pk, tenant_pk=tenant_pk, channel_pk=channel_pk, agent_key=assignee or 0,
                                  team_key=team or 0, created_at=created_at, status=status)
            for pk, tenant_pk, channel_pk, assignee, team, created_at, status in Conversation.all_objects.filter(
                pk__in=sorted(pks)).order_by().values_list(
                "pk", "tenant_id", "channel_id", "assignee_id", "team_id", "created_at", "status")}


# --- The listener (settings.DOMAIN_EVENT_LISTENERS) ---------------------------------------


def report_count(event: DomainEvent) -> None:
    report_count_many([event])


def report_count_many(events: list[DomainEvent]) -> None:
    wanted: list[ConversationEvent | MessageEvent] = [
        event for event in events if isinstance(event, ConversationCreated | ConversationStatusChanged)
        or (isinstance(event, MessageCreated) and not event.private)]
    if not wanted:
        return
    try:
        _count(wanted)
    except Exception:  # figures of a report never fail the work they count (the rebuild mends them)
        logger.exception("report figures not written (%s events)", len(wanted))


report_count.many = report_count_many  # type: ignore[attr-defined]


def _count(events: Sequence[ConversationEvent | MessageEvent]) -> None:
    now = timezone.now()
    states, messages, stored = _batch_read(
        {event.conversation_pk for event in events},
        {event.message_pk for event in events if isinstance(event, MessageCreated)})
    tally = ReportTally()
    for conversation_pk, opened_at, first_response_at in stored:  # the newest of each is the tally's
        tally.known(states[conversation_pk], opened_at, first_response_at)
    for event in events:
        state = states.get(event.conversation_pk)
        if state is None:  # deleted since
            continue
        if isinstance(event, ConversationCreated):
            tally.open(state, state.created_at)
        elif isinstance(event, ConversationStatusChanged):
            if event.new_status == RESOLVED and event.old_status != RESOLVED:
                tally.resolve(state, now)
            elif event.old_status == RESOLVED and event.new_status != RESOLVED:
                tally.open(state, now)
        elif isinstance(event, MessageCreated) and event.message_pk in messages:
            created_at, direction, sender_type, sender_pk = messages[event.message_pk]
            tally.message(state, at=created_at, direction=direction, sender_type=sender_type, sender_pk=sender_pk)
    tally.save()


def _batch_read(conversation_pks: set[int], message_pks: set[int]) -> tuple[
        dict[int, ConversationState], dict[int, tuple[dt.datetime, str, str, int | None]],
        list[tuple[int, dt.datetime, dt.datetime | None]]]:
    """What a batch is counted from, in one statement (the listener runs on every inbound batch):
    its conversations (channel, agent, team, creation, status), its messages (time, direction,
    sender) and the conversations' open rows, oldest first. The three are one UNION ALL, a row's
    first column telling which it is."""
    of_conversations, conversations_params = one_of("id", sorted(conversation_pks))
    of_openings, openings_params = one_of("conversation_id", sorted(conversation_pks))
    parts = [f"SELECT 0, id, tenant_id, channel_id, assignee_id, team_id, created_at, NULL, status, NULL "
             f"FROM {Conversation._meta.db_table} WHERE {of_conversations}",
             f"SELECT 2, conversation_id, NULL, NULL, NULL, NULL, opened_at, first_response_at, NULL, NULL "
             f"FROM {ReportConversation._meta.db_table} WHERE {of_openings} AND resolved_at IS NULL"]
    params = [*conversations_params, *openings_params]
    if message_pks:
        of_messages, messages_params = one_of("id", sorted(message_pks))
        parts.append(f"SELECT 1, id, sender_user_id, NULL, NULL, NULL, created_at, NULL, direction, sender_type "
                     f"FROM {Message._meta.db_table} WHERE {of_messages}")
        params += messages_params
    states: dict[int, ConversationState] = {}
    messages: dict[int, tuple[dt.datetime, str, str, int | None]] = {}
    stored: list[tuple[int, dt.datetime, dt.datetime | None]] = []
    for kind, pk, first, second, third, fourth, at, other_at, text, other_text in fetch_all(
            " UNION ALL ".join(parts) + " ORDER BY 1, 7", params):
        if kind == 0:
            states[pk] = ConversationState(pk=pk, tenant_pk=first, channel_pk=second, agent_key=third or 0,
                                           team_key=fourth or 0, created_at=moment_read(at), status=text)
        elif kind == 1:
            messages[pk] = (moment_read(at), text, other_text, first)
        else:
            stored.append((pk, moment_read(at), moment_read(other_at) if other_at is not None else None))
    return states, messages, stored


# --- The rebuild (manage.py reports_rebuild) ------------------------------------------------


def report_rebuild(*, tenant: Tenant, since: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Recompute the tenant's report rows from its history (from `since` on: the conversations
    active since then, and the hours since then); returns the conversations replayed. Offline
    work: it reads the messages, a batch of conversations at a time.

    A conversation's openings and resolutions come from the event log's status changes; one whose
    log is gone (pruned, imported) counts as opened when created and, resolved, as resolved at its
    last activity."""
    conversations = Conversation.all_objects.filter(tenant=tenant)
    if since is not None:
        conversations = conversations.filter(last_activity_at__gte=since)
    with transaction.atomic():
        hours = ReportHour.all_objects.filter(tenant=tenant)
        openings = ReportConversation.all_objects.filter(tenant=tenant)
        if since is not None:
            hours = hours.filter(hour__gte=hour_of(since))
            openings = openings.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since),
                                       conversation__last_activity_at__gte=since)
        hours.delete()
        openings.delete()
    replayed, after = 0, 0
    while True:
        pks = list(conversations.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return replayed
        with transaction.atomic():
            _replay(_states(pks), since=since)
        replayed += len(pks)
        after = pks[-1]


def _replay(states: dict[int, ConversationState], *, since: dt.datetime | None) -> None:
    pks = sorted(states)
    changes: dict[int, list[tuple[dt.datetime, str, str]]] = {}
    for conversation_pk, at, payload in TenantEvent.all_objects.filter(
            conversation_id__in=pks, name=ConversationStatusChanged.name).order_by("created_at", "id").values_list(
            "conversation_id", "created_at", "payload"):
        if conversation_pk is None:
            continue
        changes.setdefault(conversation_pk, []).append(
            (at, str(payload.get("old_status", "")), str(payload.get("new_status", ""))))
    last_activity = dict(Conversation.all_objects.filter(pk__in=pks).values_list("pk", "last_activity_at"))
    timeline: list[tuple[dt.datetime, int, int, tuple[Any, ...]]] = []  # when, order, conversation, what
    for pk, state in states.items():
        timeline.append((state.created_at, 0, pk, ("open",)))
        for at, old, new in changes.get(pk, []):
            if new == RESOLVED and old != RESOLVED:
                timeline.append((max(at, state.created_at), 2, pk, ("resolve",)))
            elif old == RESOLVED and new != RESOLVED:
                timeline.append((max(at, state.created_at), 0, pk, ("open",)))
        if state.status == RESOLVED and not any(new == RESOLVED for _at, _old, new in changes.get(pk, [])):
            timeline.append((max(last_activity[pk], state.created_at), 2, pk, ("resolve",)))
    for pk, conversation_pk, at, direction, sender_type, sender_pk in Message.all_objects.filter(
            conversation_id__in=pks, private=False).order_by().values_list(
            "pk", "conversation_id", "created_at", "direction", "sender_type", "sender_user_id"):
        timeline.append((at, 1, conversation_pk, ("message", direction, sender_type, sender_pk, pk)))
    tally = ReportTally()
    for at, _order, conversation_pk, what in sorted(timeline, key=lambda item: item[:3] + (item[3][-1],)):
        state = states[conversation_pk]
        if what[0] == "open":
            if tally.current.get(conversation_pk) is None:  # a reopening's log entry of an open one: no-op
                tally.open(state, at)
        elif what[0] == "resolve":
            if tally.current.get(conversation_pk) is not None:
                tally.resolve(state, at)
        else:
            tally.message(state, at=at, direction=what[1], sender_type=what[2], sender_pk=what[3])
    if since is not None:  # the hours before `since` were kept
        cutoff = hour_of(since)
        tally.hours = {key: counts for key, counts in tally.hours.items() if key[1] >= cutoff}
        tally.openings = {key: one for key, one in tally.openings.items()
                          if one.resolved_at is None or one.resolved_at >= since}
    tally.save()


def report_tables_analyze() -> None:
    """Fresh planner statistics for the reports' tables after a rebuild (PostgreSQL; elsewhere
    nothing to do)."""
    if connection.vendor != "postgresql":
        return
    for model in (ReportHour, ReportConversation):
        execute(f"ANALYZE {model._meta.db_table}", [])
