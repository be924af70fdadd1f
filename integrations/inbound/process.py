"""Inbound pipeline: store a provider's webhook first, then turn it into contacts,
conversations, messages and statuses through the core services."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from channels_app.models import Channel
from config.cache import mark_add, mark_delete, mark_set
from config.sql import execute, fetch_all, for_update, insert, one_of
from conversations.services import message_receive_many, message_statuses_advance, messages_lock_by_provider_id
from integrations.base import ChannelAdapter, InboundMessage, StatusUpdate, WebhookRejected
from integrations.memo import channels_as_of
from integrations.models import WebhookEvent
from integrations.registry import adapter_for
from tenants.models import Tenant
from tenants.services import tenant_record_messages

logger = logging.getLogger(__name__)


def webhook_channel(*, kind: str, token: str) -> Channel | None:
    """The live channel a webhook URL names (webhooks carry no tenant: the token is it)."""
    return (
        Channel.all_objects.select_related("tenant")
        .filter(kind=kind, webhook_token=token, archived_at__isnull=True).first()
    )


def webhook_verify(*, channel: Channel, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise WebhookRejected unless the channel's provider provably sent this body."""
    adapter = adapter_for(channel)
    if adapter is None:
        raise WebhookRejected("this channel kind takes no webhooks")
    adapter.verify_webhook(body=body, headers=headers)


def webhook_events_store(deliveries: list[tuple[Channel, bytes, str]], *, queue: bool = True) -> list[int]:
    """Store verified webhook bodies, (channel, body, signature) each, with one INSERT
    committed on its own, and (unless told not to) queue their processing as one task.
    The provider may be answered 200 once this returns: the rows are durable, and should
    the queueing fail, the periodic sweep finds them still RECEIVED."""
    events = insert([
        WebhookEvent(tenant_id=channel.tenant_id, channel=channel, body=body.decode("utf-8", errors="replace"),
                     signature=signature[:200])
        for channel, body, signature in deliveries
    ])
    event_ids = [event.pk for event in events]
    if queue:
        transaction.on_commit(lambda: webhook_events_queue(event_ids))
    return event_ids


# A web process that stores webhooks one batch after another (the ingress: one writer)
# needs one processing task at a time, not one per batch: the task takes up the webhooks
# stored after its own (see _claim), batch after batch, so while it waits in the queue or
# runs, later batches go with it (webhook_events_drain). The mark lives in the shared cache
# meanwhile. Expiry covers a task lost on the way (the sweep re-queues what waits).
_QUEUED_MARK = f"webhooks:queued:{uuid.uuid4().hex}"
QUEUED_MARK_SECONDS = 10
# A draining task works this long at most, then hands its mark to a successor at the back
# of the queue, so that other tasks get their turn.
DRAIN_SECONDS = 2.0


def webhook_events_queue(event_ids: list[int], *, coalesce: bool = False) -> None:
    """Queue the processing of stored webhooks, as one task. With `coalesce` (for a caller
    whose stores are sequential, so that later ones get higher ids), nothing is queued while
    this process's task is queued or running: it takes these up (webhook_events_drain)."""
    from integrations.tasks import webhook_events_process

    if coalesce:
        try:
            if not mark_add(_QUEUED_MARK, QUEUED_MARK_SECONDS):
                return
        except Exception:  # no cache: a task per batch, as without coalescing
            logger.warning("webhook task coalescing unavailable", exc_info=True)
            coalesce = False
    try:
        webhook_events_process.delay(event_ids=event_ids, queued_mark=_QUEUED_MARK if coalesce else "")
    except Exception:  # the broker is away: stored all the same, the sweep queues them later
        logger.exception("processing of webhook events %s not queued", event_ids)
        if coalesce:  # nothing waits for later batches: they queue again
            with contextlib.suppress(Exception):
                mark_delete(_QUEUED_MARK)


def webhook_accept(*, channel: Channel, body: bytes, headers: Mapping[str, str]) -> int:
    """Verify one webhook and store it (raises WebhookRejected); returns the stored id."""
    webhook_verify(channel=channel, body=body, headers=headers)
    return webhook_events_store([(channel, body, headers.get("X-Hub-Signature-256", ""))])[0]


def webhook_event_process_now(*, event_id: int) -> WebhookEvent | None:
    webhook_events_process_now(event_ids=[event_id])
    return WebhookEvent.all_objects.filter(pk=event_id).first()


# A task takes up to this many other waiting webhooks along with its own: when processing
# falls behind, batches grow and the cost per message falls, so a backlog drains itself.
BATCH_TOP_UP = 100


def webhook_events_process_now(*, event_ids: list[int], always: bool = False) -> None:
    """Turn stored webhooks into what they say, in one transaction: these events and any
    others still waiting (see BATCH_TOP_UP), each channel's messages in one batch, then the
    statuses. Safe to run twice: messages are unique per (channel, provider id) and statuses
    only move forward. An unreadable body fails alone. Should the batch fail, its events are
    processed one at a time, so that one bad event cannot hold back the others; what still
    fails is counted and raised for the task to retry. `always`: take up what waits even
    when these were processed already."""
    _process_batch(event_ids, always=always)


# A store commits within this long of drawing its ids (one INSERT of at most MAX_BATCH
# bodies). A draining task reads the waiting webhooks from the lowest id it took at least
# this long ago, not from the first one its chain took: through the partial index, every
# webhook processed since then would be stepped over again. A store slower than this is
# taken up by the sweep (webhook_events_stuck).
LATE_COMMIT_SECONDS = 10.0


def webhook_events_drain(*, event_ids: list[int], queued_mark: str,
                         checkpoints: list[tuple[float, int]] | None = None) -> None:
    """The task of a web process's coalesced webhooks (webhook_events_queue): its own, then
    what waits after them, batch after batch, while the process's mark stays set, so that
    the process queues no task for what it stores meanwhile: the next batch here takes it
    up. (A task per stored batch cost more in Celery, queueing and starting it, than
    processing the batch.) When nothing is left, the mark goes, and one more look takes up
    what was stored just before it went (that store found the mark set and queued nothing).
    After DRAIN_SECONDS a successor takes the mark over, with `checkpoints`: when its chain
    took which lowest id (see LATE_COMMIT_SECONDS). The process stores one batch after
    another, so what it stores while the mark is set comes after the chain's first ids."""
    from integrations.tasks import webhook_events_process

    taken_at = list(checkpoints or [(time.time(), min(event_ids) if event_ids else 0)])
    holding = True
    with contextlib.suppress(Exception):
        mark_set(queued_mark, QUEUED_MARK_SECONDS)  # running now (it may have waited long in the queue)
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while True:
            settled = time.time() - LATE_COMMIT_SECONDS
            while len(taken_at) > 1 and taken_at[1][0] <= settled:
                taken_at.pop(0)
            taken = _process_batch(event_ids, always=True, floor=taken_at[0][1])
            event_ids = []  # its own are done: from now on what waits
            if not taken:
                if not holding:
                    return
                mark_delete(queued_mark)
                holding = False
                continue  # one more look
            if not holding and not mark_add(queued_mark, QUEUED_MARK_SECONDS):
                return  # the process queued a task of its own meanwhile: it goes on from here
            holding = True
            if taken_at[-1][0] < time.time() - 1:  # a checkpoint a second is plenty
                taken_at.append((time.time(), min(taken) - 1))
            if time.monotonic() >= deadline:
                webhook_events_process.delay(event_ids=[], queued_mark=queued_mark, checkpoints=taken_at)
                holding = False  # the successor's now
                return
    except BaseException:
        if holding:  # what the process stores from now on gets a task of its own
            with contextlib.suppress(Exception):
                mark_delete(queued_mark)
        raise


def _process_batch(event_ids: list[int], *, always: bool, floor: int | None = None) -> list[int]:
    """One batch (see webhook_events_process_now); the ids of the events it took."""
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
            failure = error
            WebhookEvent.all_objects.filter(pk=event_id, status=WebhookEvent.Status.RECEIVED).update(
                attempts=F("attempts") + 1)
    if failure is not None:
        raise failure
    return claimed


# What waits for processing: the condition of the partial index webhook_event_waiting,
# spelled out so that PostgreSQL can use the index in a prepared statement's generic plan.
_WAITING = f"e.status = '{WebhookEvent.Status.RECEIVED}' AND e.attempts = 0"


def _claim(event_ids: list[int], *, top_up: int, always: bool = False, floor: int | None = None) -> list[WebhookEvent]:
    """The given events not processed yet, and up to `top_up` other waiting ones that never
    failed and came after them (after `floor`, if given), locked (events another task holds
    are left to it). The others are taken up only if some of the given ones were still
    waiting, unless `always`."""
    lock = for_update(skip_locked=True, of="e")
    # With each event, when its channel and tenant last changed (for channels_as_of).
    select = (f"SELECT e.id, e.tenant_id, e.channel_id, e.body, e.status, c.updated_at, t.updated_at "
              f"FROM {WebhookEvent._meta.db_table} e JOIN {Channel._meta.db_table} c ON c.id = e.channel_id "
              f"JOIN {Tenant._meta.db_table} t ON t.id = e.tenant_id")
    rows = []
    if event_ids:
        given, given_params = one_of("e.id", event_ids)
        rows = fetch_all(f"{select} WHERE {given} AND e.status <> %s{lock}",
                         [*given_params, WebhookEvent.Status.PROCESSED])
    # When another task already took (or holds) all of these, it took what was waiting too.
    if top_up and (rows or always):
        # Those queued after this task's own (the ones before have tasks of their own ahead of
        # it): the partial index is read from there on, not through every webhook processed before.
        others, others_params = one_of("e.id", event_ids or [0], negated=True)
        rows += fetch_all(
            f"{select} WHERE {_WAITING} AND e.id > %s AND {others} ORDER BY e.id LIMIT %s{lock}",
            [min(event_ids) if floor is None else floor, *others_params, top_up])
    channels = channels_as_of({row[2]: (row[5], row[6]) for row in rows})
    events = []
    for pk, tenant_id, channel_id, body, status, *_changed in sorted(rows):
        event = WebhookEvent(pk=pk, tenant_id=tenant_id, channel=channels[channel_id], body=body, status=status)
        event._state.adding = False
        events.append(event)
    return events


def _process(events: list[WebhookEvent]) -> None:
    """The messages, their statuses and the events marked PROCESSED (one transaction)."""
    if not events:
        return
    errors: dict[int, list[str]] = {event.pk: [] for event in events}
    inbound: dict[int, tuple[Channel, list[dict[str, Any]]]] = {}
    statuses: list[tuple[int, Channel, StatusUpdate]] = []
    readable = []
    for event in events:
        adapter = adapter_for(event.channel)
        try:
            batch = adapter.parse_webhook(event.body.encode())
        except (ValueError, KeyError, TypeError) as error:
            _finish([event], status=WebhookEvent.Status.FAILED, error=f"unreadable body: {error}")
            continue
        readable.append(event)
        errors[event.pk].extend(batch.errors)
        accounts = {update.account for update in (*batch.messages, *batch.statuses)}
        channels = ({adapter.account: event.channel} if accounts <= {adapter.account}
                    else _channels_by_account(event.channel, adapter))
        errors[event.pk].extend(f"no channel of this account for {account}"
                                for account in sorted(accounts - set(channels)))
        for message in batch.messages:
            if (channel := channels.get(message.account)) is not None:
                inbound.setdefault(channel.pk, (channel, []))[1].append(_receive_arguments(message))
        statuses.extend((event.pk, channels[update.account], update)
                        for update in batch.statuses if update.account in channels)
    usage: dict[int, int] = {}
    for channel, messages in inbound.values():
        message_receive_many(channel=channel, messages=messages, usage=usage)
    # The messages the statuses are about, locked in one read (in id order: no deadlock
    # with another batch about the same messages).
    wanted: dict[int, set[str]] = {}
    for _, channel, update in statuses:
        wanted.setdefault(channel.pk, set()).add(update.provider_message_id)
    found = {(message.channel_id, message.provider_message_id): message for channel_id, ids in sorted(wanted.items())
             for message in messages_lock_by_provider_id(channel_id=channel_id, provider_message_ids=ids)}
    advances = []
    for event_id, channel, update in statuses:
        message = found.get((channel.pk, update.provider_message_id))
        if message is None:
            errors[event_id].append(f"status for unknown message {update.provider_message_id}")
            continue
        advances.append((message, update.status, update.error_code, update.error_message, update.at))
    message_statuses_advance(advances)
    # Counted in this transaction, the last of its locks: the counter is one row per tenant,
    # so a concurrent batch of the tenant waits for this one's commit only, never in a cycle
    # (both took their conversations first). One statement fewer than counting after commit.
    for tenant_id in sorted(usage):
        tenant_record_messages(tenant=Tenant(pk=tenant_id), count=usage[tenant_id])
    clean = [event for event in readable if not errors[event.pk]]
    _finish(clean, status=WebhookEvent.Status.PROCESSED)
    for event in readable:
        if errors[event.pk]:
            _finish([event], status=WebhookEvent.Status.PROCESSED, error="; ".join(errors[event.pk]))


def _receive_arguments(message: InboundMessage) -> dict[str, Any]:
    return {"contact_external_id": message.contact_external_id, "provider_message_id": message.provider_message_id,
            "content": message.content, "message_type": message.type, "content_attributes": message.content_attributes,
            "contact_name": message.contact_name, "contact_phone": message.contact_phone,
            "sent_at": message.sent_at, "reply_to_provider_id": message.reply_to_provider_id}


def _finish(events: list[WebhookEvent], *, status: str, error: str = "") -> None:
    if not events:
        return
    ids, ids_params = one_of("id", [event.pk for event in events])
    execute(f"UPDATE {WebhookEvent._meta.db_table} SET status = %s, error = %s, processed_at = %s, "
            f"attempts = attempts + 1 WHERE {ids}",
            [status, error[:5000], connection.ops.adapt_datetimefield_value(timezone.now()), *ids_params])
    for event in events:
        event.status, event.error = status, error
        if status == WebhookEvent.Status.FAILED:
            logger.warning("webhook event %s of channel %s failed: %s", event.pk, event.channel_id, error[:300])


def _channels_by_account(channel: Channel, adapter: ChannelAdapter) -> dict[str, Channel]:
    """The tenant's live channels of this kind by provider account, so that a webhook that
    carries updates for several numbers of one app files each under its own channel."""
    channels = {adapter.account: channel}
    siblings = Channel.all_objects.select_related("tenant").filter(
        tenant_id=channel.tenant_id, kind=channel.kind, archived_at__isnull=True).exclude(pk=channel.pk)
    for sibling in siblings:
        account = adapter_for(sibling).account
        channels.setdefault(account, sibling)
    return channels
