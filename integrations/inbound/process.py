"""Stored webhooks turned into what they say, through the core's one receive path
(conversations.services.messages_receive): parsed by their channel's adapter, filed under
the channel of each provider account they mention, and marked PROCESSED (or FAILED with the
reason, for a body nobody can read).

Nothing stays waiting for ever: a body nested deeper than MAX_BODY_DEPTH fails before it is
parsed, NUL characters (which PostgreSQL cannot store) are taken out of what was parsed, and a
webhook whose processing keeps failing records each error and fails for good after
settings.WEBHOOK_MAX_ATTEMPTS attempts (admins can process it again)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import channel_pairing_update
from config.json_limits import json_has_nul, json_without_nul, raw_json_too_deep
from config.sql import execute, fetch_all, for_update, one_of
from contacts.services import contacts_update_from_channel
from conversations.incoming import (
    ChannelInbound,
    IncomingDeletion,
    IncomingMessage,
    IncomingPresence,
    IncomingStatus,
)
from conversations.services import contacts_presence_tell, messages_receive
from integrations.base import AccountUpdates, ChannelAdapter, ConnectionUpdate, ContactUpdate, WebhookBatch
from integrations.channel_cache import channels_as_of
from integrations.models import WebhookEvent
from integrations.registry import adapter_for
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# A batch takes up to this many other waiting webhooks along with those it was given: when
# processing falls behind, batches grow and the cost per message falls, so a backlog drains
# itself.
BATCH_TOP_UP = 100
# Deeper bodies fail unparsed (Python's json parser recurses once per level). Providers' bodies
# nest about ten levels.
MAX_BODY_DEPTH = 64
# How a NUL character can appear in a body: a JSON escape, a raw byte, percent-encoded.
_NUL_MARKS = (b"\\u0000", b"\x00", b"%00")

_Item = TypeVar("_Item", IncomingMessage, IncomingStatus, ConnectionUpdate, ContactUpdate, IncomingDeletion,
                IncomingPresence)


def webhook_events_process_now(*, event_ids: Sequence[int], always: bool = False) -> list[int]:
    """Process these stored webhooks and, if some of them were still waiting (or `always`),
    other waiting ones from the oldest on (see BATCH_TOP_UP): one batch. The ids it took."""
    return webhook_events_batch(event_ids, always=always, floor=0)


def webhook_event_process_now(*, event_id: int) -> WebhookEvent | None:
    webhook_events_batch([event_id], always=False, floor=0)
    return WebhookEvent.all_objects.filter(pk=event_id).first()


def webhook_events_reopen(*, event_ids: Sequence[int]) -> list[int]:
    """Make these webhooks wait for processing again, with WEBHOOK_MAX_ATTEMPTS attempts of
    their own (an admin's "process again", once what made them fail is fixed): those not
    processed already. Their error stays until the next outcome replaces it. The caller queues them."""
    reopened = list(WebhookEvent.all_objects.filter(pk__in=list(event_ids)).exclude(
        status=WebhookEvent.Status.PROCESSED).order_by("pk").values_list("pk", flat=True))
    WebhookEvent.all_objects.filter(pk__in=reopened).update(status=WebhookEvent.Status.RECEIVED, attempts=0,
                                                            processed_at=None)
    return reopened


def webhook_events_batch(event_ids: Sequence[int], *, always: bool, floor: int) -> list[int]:
    """One batch, in one transaction: these events, and up to BATCH_TOP_UP others waiting with
    an id above `floor`. Safe to run twice: messages are unique per (channel, provider id) and
    statuses only move forward. An unreadable body fails alone. Should the batch fail, its
    events are processed one at a time, so that one bad event cannot hold back the others;
    what still fails is counted (it then waits for its own task's retry) and raised."""
    claimed: list[int] = list(event_ids)
    try:
        with transaction.atomic():
            events = _claim(event_ids, top_up=BATCH_TOP_UP, always=always, floor=floor)
            claimed = [event.pk for event in events]
            _process(events)
    except Exception:
        logger.warning("batch of webhook events %s failed; one at a time now", claimed, exc_info=True)
    else:
        return claimed
    failure: Exception | None = None
    for event_id in claimed:
        try:
            with transaction.atomic():
                _process(_claim([event_id], top_up=0))
        except Exception as error:
            if not _attempt_failed(event_id, error):
                failure = error  # to be retried: the task's retry (or the sweep) tries again
    if failure is not None:
        raise failure
    return claimed


def _attempt_failed(event_id: int, error: Exception) -> bool:
    """Count a failed attempt and keep its error; after WEBHOOK_MAX_ATTEMPTS the event fails
    for good. Whether it did (no point retrying it)."""
    last = max(1, settings.WEBHOOK_MAX_ATTEMPTS) - 1
    reason = f"{type(error).__name__}: {error}".replace("\x00", "")
    gave_up = When(attempts__gte=last, then=Value(WebhookEvent.Status.FAILED))
    WebhookEvent.all_objects.filter(pk=event_id, status=WebhookEvent.Status.RECEIVED).update(
        attempts=F("attempts") + 1,
        status=Case(gave_up, default=Value(WebhookEvent.Status.RECEIVED)),
        processed_at=Case(When(attempts__gte=last, then=Value(timezone.now())), default=None),
        error=Case(When(attempts__gte=last, then=Value(f"gave up after {last + 1} attempts; {reason}"[:5000])),
                   default=Value(f"attempt failed, will be retried; {reason}"[:5000])),
    )
    event = WebhookEvent.all_objects.filter(pk=event_id).values("status", "channel_id", "tenant_id").first()
    if event is None or event["status"] != WebhookEvent.Status.FAILED:
        return False
    logger.warning("webhook event %s of channel %s failed after %s attempts: %s", event_id, event["channel_id"],
                   last + 1, reason[:300], extra={"tenant_id": event["tenant_id"], "channel_id": event["channel_id"]})
    return True


# What waits for processing: the condition of the partial index webhook_event_waiting,
# spelled out so that PostgreSQL can use the index in a prepared statement's generic plan.
_WAITING = f"e.status = '{WebhookEvent.Status.RECEIVED}' AND e.attempts = 0"


def _claim(event_ids: Sequence[int], *, top_up: int, always: bool = False, floor: int = 0) -> list[WebhookEvent]:
    """The given events still waiting (neither processed nor failed for good), and up to
    `top_up` other waiting ones that never failed, oldest first from above `floor`, locked
    (events another batch holds are left to it). The others are taken up only if some of the
    given ones were still waiting (another batch that took all of these took what was waiting
    too), unless `always`."""
    lock = for_update(skip_locked=True, of="e")
    # With each event, when its channel and tenant last changed (for the channel cache).
    select = (f"SELECT e.id, e.tenant_id, e.channel_id, e.body, e.status, c.updated_at, t.updated_at "
              f"FROM {WebhookEvent._meta.db_table} e JOIN {Channel._meta.db_table} c ON c.id = e.channel_id "
              f"JOIN {Tenant._meta.db_table} t ON t.id = e.tenant_id")
    rows = []
    if event_ids:
        given, given_params = one_of("e.id", list(event_ids))
        rows = fetch_all(f"{select} WHERE {given} AND e.status = %s{lock}",
                         [*given_params, WebhookEvent.Status.RECEIVED])
    if top_up and (rows or always):
        others, others_params = one_of("e.id", list(event_ids) or [0], negated=True)
        rows += fetch_all(f"{select} WHERE {_WAITING} AND e.id > %s AND {others} ORDER BY e.id LIMIT %s{lock}",
                          [floor, *others_params, top_up])
    channels = channels_as_of({row[2]: (row[5], row[6]) for row in rows})
    events = []
    for pk, tenant_id, channel_id, body, status, *_changed in sorted(rows):
        event = WebhookEvent(pk=pk, tenant_id=tenant_id, channel=channels[channel_id], body=body, status=status)
        event._state.adding = False
        events.append(event)
    return events


def _process(events: list[WebhookEvent]) -> None:
    """The events' messages and statuses through the receive path, and the events marked
    PROCESSED (with what could not be filed, if anything), in the caller's transaction."""
    if not events:
        return
    errors: dict[int, list[str]] = {event.pk: [] for event in events}
    inbound: dict[int, tuple[Channel, list[IncomingMessage], list[IncomingStatus], list[IncomingDeletion]]] = {}
    status_events: dict[int, int] = {}  # id() of a status → its event
    connections: list[tuple[Channel, ConnectionUpdate]] = []  # in the order they came
    contacts: dict[int, tuple[Channel, list[ContactUpdate]]] = {}
    presence: dict[int, tuple[Channel, list[IncomingPresence]]] = {}
    readable = []
    for event in events:
        adapter = adapter_for(event.channel)
        if adapter is None:
            _finish([event], status=WebhookEvent.Status.FAILED, error="this channel kind has no provider now")
            continue
        raw = event.body.encode()
        if raw_json_too_deep(raw, limit=MAX_BODY_DEPTH):
            _finish([event], status=WebhookEvent.Status.FAILED,
                    error=f"unreadable body: nested deeper than {MAX_BODY_DEPTH} levels")
            continue
        try:
            batch = _without_nul(adapter.parse_webhook(raw), raw)
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            _finish([event], status=WebhookEvent.Status.FAILED, error=f"unreadable body: {error}")
            continue
        readable.append(event)
        errors[event.pk].extend(batch.errors)
        accounts = {updates.account for updates in batch.updates}
        channels = ({adapter.account: event.channel} if accounts <= {adapter.account, ""}
                    else _channels_by_account(event.channel, adapter))
        channels.setdefault("", event.channel)
        for updates in batch.updates:
            channel = channels.get(updates.account)
            if channel is None:
                errors[event.pk].append(f"no channel of this account for {updates.account}")
                continue
            if updates.connection is not None:
                connections.append((channel, updates.connection))
            _, messages, statuses, deletions = inbound.setdefault(channel.pk, (channel, [], [], []))
            messages.extend(updates.messages)
            statuses.extend(updates.statuses)
            deletions.extend(updates.deletions)
            status_events.update((id(status), event.pk) for status in updates.statuses)
            if updates.contacts:
                contacts.setdefault(channel.pk, (channel, []))[1].extend(updates.contacts)
            if updates.presence:
                presence.setdefault(channel.pk, (channel, []))[1].extend(updates.presence)
    outcomes = messages_receive(inbound=[
        ChannelInbound(channel=channel, messages=messages, statuses=statuses, deletions=deletions)
        for channel, messages, statuses, deletions in inbound.values()])
    for channel, update in connections:
        channel_pairing_update(channel=channel, status=update.status, detail=update.detail, qr_code=update.qr_code,
                               qr_image=update.qr_image, pairing_code=update.pairing_code, phone=update.phone)
    for channel, contact_updates in contacts.values():  # after the messages: a new contact is known by now
        contacts_update_from_channel(channel=channel, updates=contact_updates)
    for channel, presences in presence.values():  # told once the batch commits, never stored
        contacts_presence_tell(channel=channel, presences=presences)
    for outcome in outcomes:
        for status in outcome.unknown_statuses:
            errors[status_events[id(status)]].append(f"status for unknown message {status.provider_message_id}")
    _finish([event for event in readable if not errors[event.pk]], status=WebhookEvent.Status.PROCESSED)
    for event in readable:
        if errors[event.pk]:
            _finish([event], status=WebhookEvent.Status.PROCESSED, error="; ".join(errors[event.pk]))


def _without_nul(batch: WebhookBatch, raw: bytes) -> WebhookBatch:
    """The batch with NUL characters taken out of every text the adapter parsed (PostgreSQL
    cannot store them): a contact's message still arrives, less that character."""
    if not any(mark in raw for mark in _NUL_MARKS):
        return batch
    return WebhookBatch(
        updates=tuple(AccountUpdates(account=json_without_nul(updates.account),
                                     messages=tuple(_fields_without_nul(message) for message in updates.messages),
                                     statuses=tuple(_fields_without_nul(status) for status in updates.statuses),
                                     connection=updates.connection and _fields_without_nul(updates.connection),
                                     contacts=tuple(_fields_without_nul(contact) for contact in updates.contacts),
                                     deletions=tuple(_fields_without_nul(deletion) for deletion in updates.deletions),
                                     presence=tuple(_fields_without_nul(presence) for presence in updates.presence))
                      for updates in batch.updates),
        errors=tuple(error.replace("\x00", "") for error in batch.errors))


def _fields_without_nul(item: _Item) -> _Item:
    changed = {field.name: json_without_nul(getattr(item, field.name)) for field in dataclasses.fields(item)
               if json_has_nul(getattr(item, field.name))}
    return dataclasses.replace(item, **changed) if changed else item


def _finish(events: list[WebhookEvent], *, status: str, error: str = "") -> None:
    if not events:
        return
    error = error.replace("\x00", "")
    ids, ids_params = one_of("id", [event.pk for event in events])
    execute(f"UPDATE {WebhookEvent._meta.db_table} SET status = %s, error = %s, processed_at = %s, "
            f"attempts = attempts + 1 WHERE {ids}",
            [status, error[:5000], connection.ops.adapt_datetimefield_value(timezone.now()), *ids_params])
    for event in events:
        event.status, event.error = status, error
        if status == WebhookEvent.Status.FAILED:
            logger.warning("webhook event %s of channel %s failed: %s", event.pk, event.channel_id, error[:300],
                           extra={"tenant_id": event.tenant_id, "channel_id": event.channel_id})


def _channels_by_account(channel: Channel, adapter: ChannelAdapter) -> dict[str, Channel]:
    """The tenant's live channels of this kind by provider account, so that a webhook that
    carries updates for several accounts of one app files each under its own channel."""
    channels = {adapter.account: channel}
    siblings = Channel.all_objects.select_related("tenant").filter(
        tenant_id=channel.tenant_id, kind=channel.kind, archived_at__isnull=True).exclude(pk=channel.pk)
    for sibling in siblings:
        sibling_adapter = adapter_for(sibling)
        if sibling_adapter is not None:
            channels.setdefault(sibling_adapter.account, sibling)
    return channels
