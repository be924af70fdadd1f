"""Outbound pipeline: an agent's reply (PENDING) → the channel's adapter → SENT with the
provider's id, or a retry with backoff, or FAILED with the provider's code and a reason."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import channel_set_status
from config.cache import mark_add, mark_delete, mark_set
from config.events import DomainEvent
from config.sql import columns, fetch_all, for_update, instances, update
from contacts.models import Contact, ContactIdentity
from conversations.models import Attachment, Conversation, Message
from conversations.services import message_attach_file, message_status_advance
from integrations.base import (
    OutboundMessage,
    ProviderAuthError,
    ProviderError,
    ProviderPermanentError,
    ProviderTemporaryError,
)
from integrations.memo import channels_as_of
from integrations.registry import adapter_for, has_adapter
from integrations.throttle import throughput_acquire
from tenants.models import Tenant

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class DeliveryOutcome:
    done: bool
    retry_in: float = 0.0
    status: str = ""


def dispatch(event: DomainEvent) -> None:
    """Listener: queue the sending of replies on channels with an adapter, tell the
    provider when agents read a conversation, and fetch a new channel's templates."""
    from integrations.tasks import conversation_mark_read_remote

    if event.name == "message.created" and event.direction == "INBOUND" and getattr(event, "has_media", False):
        from integrations.tasks import inbound_media_fetch

        inbound_media_fetch.delay(message_id=event.message_id)
    elif event.name in ("message.created", "message.retry_requested"):
        if event.name == "message.created" and (event.direction != "OUTBOUND" or event.private):
            return
        kind = _channel_kind(event.channel_id)
        if kind and has_adapter(kind):
            channel_senders_queue(channel_id=event.channel_id)
    elif event.name == "channel.created" or (event.name == "channel.updated"
                                               and {"config", "credentials"} & set(event.changed)):
        from integrations.tasks import TEMPLATE_KINDS, channel_templates_sync_task

        kind = _channel_kind(event.channel_id)
        if kind in TEMPLATE_KINDS:
            channel_templates_sync_task.delay(channel_id=event.channel_id)
    elif event.name == "conversation.read" and event.last_read_message_id:
        kind = _channel_kind(event.channel_id)
        if kind and has_adapter(kind):
            conversation_mark_read_remote.delay(message_id=event.last_read_message_id)


@functools.lru_cache(maxsize=10_000)
def _channel_kind(channel_id: int) -> str | None:
    """A channel's kind, remembered per process: it never changes (and ids are not reused),
    and the listener asks for it after every reply."""
    return Channel.all_objects.filter(pk=channel_id).values_list("kind", flat=True).first()


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter (attempt 0, 1, 2... → up to 2, 4, 8... s)."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)


def _outbound(message: Message) -> OutboundMessage:
    """What the adapter sends, from a message read by _locked_pending (its annotations)."""
    recipient = message.recipient_external_id or (message.contact_phone or "").lstrip("+")
    attachments = tuple(
        {"file_name": item.file_name, "content_type": item.content_type, "data": item.file.read()}
        for item in message.attachments.all() if item.file
    ) if message.has_attachments else ()
    return OutboundMessage(
        message_id=message.pk, to=recipient, type=message.type, content=message.content,
        content_attributes=message.content_attributes, reply_to_provider_id=message.reply_to_provider_id,
        attachments=attachments,
    )


# A reply still waiting to be sent (the condition of the partial index msg_outbound_waiting,
# spelled out so that PostgreSQL can use the index in a prepared statement's generic plan).
_WAITING = (f"m.direction = '{Message.Direction.OUTBOUND}' AND m.provider_message_id IS NULL "
            f"AND m.status IN ('{Message.Status.PENDING}', '{Message.Status.QUEUED}')")


def _locked_reply(where: str, params: list[object], channel: Channel, *, more: bool = False) -> Message | None:
    """A reply waiting to be sent, locked (None when there is none, or another sender holds
    it), with everything sending needs read in the same statement (plain SQL: through the
    ORM, compiling this read cost more CPU than the send itself). With `more`, whether other
    replies of the channel wait behind it (`message.more_waiting`)."""
    message_table, conversation_table = Message._meta.db_table, Conversation._meta.db_table
    behind = (f"EXISTS (SELECT 1 FROM {message_table} w WHERE w.channel_id = m.channel_id AND w.id > m.id AND "
              f"{_WAITING.replace('m.', 'w.')})" if more else "FALSE")
    found = instances(
        Message,
        f"""SELECT {columns(Message, 'm')}, ct.phone AS contact_phone, r.provider_message_id AS reply_to_provider_id,
                   (SELECT ci.external_id FROM {ContactIdentity._meta.db_table} ci
                     WHERE ci.contact_id = c.contact_id AND ci.channel_id = m.channel_id
                     ORDER BY ci.id LIMIT 1) AS recipient_external_id,
                   EXISTS (SELECT 1 FROM {Attachment._meta.db_table} a WHERE a.message_id = m.id) AS has_attachments,
                   {behind} AS more_waiting
              FROM {message_table} m
              JOIN {conversation_table} c ON c.id = m.conversation_id
              JOIN {Contact._meta.db_table} ct ON ct.id = c.contact_id
              LEFT JOIN {message_table} r ON r.id = m.reply_to_id
             WHERE {where} AND {_WAITING}
             ORDER BY m.id LIMIT 1{for_update(skip_locked=True, of="m")}""",
        params, extra=("contact_phone", "reply_to_provider_id", "recipient_external_id", "has_attachments",
                       "more_waiting"))
    if not found:
        return None
    message = found[0]
    message.channel = channel
    return message


def _locked_pending(message_id: int, channel: Channel) -> Message | None:
    """This reply, locked, if it still waits to be sent (whatever its backoff: its own retry
    task asks for it)."""
    return _locked_reply("m.id = %s", [message_id], channel)


def _next_waiting(channel: Channel, *, more: bool) -> Message | None:
    """The channel's oldest reply that waits to be sent and is not in a retry's backoff,
    locked; replies other senders hold are skipped (several senders share a channel)."""
    return _locked_reply("m.channel_id = %s AND (m.send_after IS NULL OR m.send_after <= %s)",
                         [channel.pk, timezone.now()], channel, more=more)


def _any_waiting(channel_id: int) -> bool:
    return bool(fetch_all(
        f"SELECT 1 FROM {Message._meta.db_table} m WHERE m.channel_id = %s AND {_WAITING} "
        f"AND (m.send_after IS NULL OR m.send_after <= %s) LIMIT 1", [channel_id, timezone.now()]))


def _wait_for_a_send_slot(channel: Channel) -> float:
    """Stay under the channel's throughput cap: wait (less than a second at a time) for a
    free slot rather than let the provider refuse the message. Returns the seconds waited."""
    adapter = adapter_for(channel)
    cap = adapter.throughput_per_second if adapter else None
    waited = 0.0
    while cap:
        wait = throughput_acquire(key=f"channel:{channel.pk}", per_second=cap)
        if not wait:
            break
        time.sleep(wait)
        waited += wait
    return waited


def _current_channel(channel_id: int) -> Channel | None:
    """The channel as it is now (remembered per process while it and its tenant do not change)."""
    found = fetch_all(
        f"SELECT c.updated_at, t.updated_at FROM {Channel._meta.db_table} c "
        f"JOIN {Tenant._meta.db_table} t ON t.id = c.tenant_id WHERE c.id = %s", [channel_id])
    return channels_as_of({channel_id: found[0]})[channel_id] if found else None


def message_deliver_now(*, message_id: int) -> DeliveryOutcome:
    """Hand one PENDING reply to its channel (a retry after its backoff, the sweep, a task
    queued before channel senders existed). Safe under Celery's at-least-once delivery: the
    row is locked while it is sent (a concurrent sender skips it), and a message that
    already has the provider's id is never sent again."""
    found = fetch_all(f"SELECT channel_id FROM {Message._meta.db_table} WHERE id = %s", [message_id])
    channel = _current_channel(found[0][0]) if found else None
    if channel is None:
        return DeliveryOutcome(done=True, status="skipped")
    with transaction.atomic():
        message = _locked_pending(message_id, channel)
        if message is None:
            return DeliveryOutcome(done=True, status="skipped")
        _wait_for_a_send_slot(channel)
        return _send(message, channel)


def _send(message: Message, channel: Channel) -> DeliveryOutcome:
    """Send a reply locked in the caller's transaction, and record what came of it: SENT with
    the provider's id, FAILED with its code, or the next attempt's backoff."""
    adapter = adapter_for(channel)
    if adapter is None:
        return DeliveryOutcome(done=True, status="no_adapter")
    try:
        result = adapter.send(_outbound(message))
    except ProviderAuthError as error:
        _fail(message, error)
        channel_set_status(channel=channel, status=Channel.Status.ERROR, detail=f"{error.message} ({error.code})")
        return DeliveryOutcome(done=True, status="failed")
    except ProviderPermanentError as error:
        _fail(message, error)
        return DeliveryOutcome(done=True, status="failed")
    except ProviderTemporaryError as error:
        attempt = message.send_attempts
        if attempt + 1 >= MAX_ATTEMPTS:
            _fail(message, error)
            return DeliveryOutcome(done=True, status="failed")
        wait = max(error.retry_after or 0.0, backoff_seconds(attempt))
        message.send_attempts, message.send_after = attempt + 1, timezone.now() + dt.timedelta(seconds=wait)
        update(message, ["send_attempts", "send_after"])
        logger.info("message %s: %s (%s), retry in %.1fs", message.pk, error.message, error.code, wait)
        return DeliveryOutcome(done=False, retry_in=wait, status="retry")
    message_status_advance(locked=message, status=Message.Status.SENT, provider_message_id=result.provider_message_id)
    return DeliveryOutcome(done=True, status="sent")


# --- Channel senders ------------------------------------------------------------------------------
#
# Replies are sent by senders, tasks that work through a channel's waiting replies one after
# another, oldest first, each committed as SENT (or FAILED, or put off by its backoff) right
# after the provider's answer: a task per reply cost more in Celery than the send itself.
# A sender has a slot (0 .. OUTBOUND_SENDERS_PER_CHANNEL - 1), held by a mark in the shared
# cache while its task waits in the queue or runs. A new reply queues sender 0 unless its mark
# is held; a sender that finds more replies waiting behind the one it took, and did not have to
# wait for the throughput cap, brings in the next slot's sender, so that a backlog is sent by
# several worker processes at once (and a provider's latency is overlapped). A sender runs for
# OUTBOUND_SENDER_SECONDS at most, then hands its slot to a successor at the back of the
# queue, so that other work (stored webhooks) is not held up behind a long backlog. Sender 0
# looks once more after it gave up its mark: a reply stored while it was ending is sent by it,
# or finds the mark free and queues a sender of its own, so that none is left waiting.
SENDER_MARK_SECONDS = 60


def _sender_mark(channel_id: int, slot: int) -> str:
    return f"outbound:sender:{channel_id}:{slot}"


def channel_senders_queue(*, channel_id: int, slot: int = 0) -> bool:
    """Queue the sender of this slot for the channel's waiting replies, unless it is queued
    or running already. Whether one was queued."""
    from integrations.tasks import channel_deliver

    mark = _sender_mark(channel_id, slot)
    try:
        if not mark_add(mark, SENDER_MARK_SECONDS):
            return False
    except Exception:  # no cache: a sender for every call (the rows' locks still keep sends apart)
        logger.warning("reply senders cannot be coalesced", exc_info=True)
    try:
        channel_deliver.delay(channel_id=channel_id, slot=slot)
    except Exception:  # the broker is away: the replies wait, and the sweep sends them later
        logger.exception("sender of channel %s not queued", channel_id)
        with contextlib.suppress(Exception):
            mark_delete(mark)
        return False
    return True


def channel_deliver_now(*, channel_id: int, slot: int = 0, helpers: bool = True) -> list[DeliveryOutcome]:
    """The sender of `slot`: send the channel's waiting replies until none is left or its
    time is up (then a successor takes its slot). What came of each reply it took; a reply
    put off by its backoff is also queued for its retry (`message_deliver`)."""
    from integrations.tasks import channel_deliver, message_deliver

    mark = _sender_mark(channel_id, slot)
    with contextlib.suppress(Exception):
        mark_set(mark, SENDER_MARK_SECONDS)  # running now (it may have waited long in the queue)
    channel = _current_channel(channel_id)
    outcomes: list[DeliveryOutcome] = []
    helper_queued = not helpers or slot + 1 >= settings.OUTBOUND_SENDERS_PER_CHANNEL
    deadline = time.monotonic() + settings.OUTBOUND_SENDER_SECONDS
    while channel is not None and adapter_for(channel) is not None:
        try:
            with transaction.atomic():
                message = _next_waiting(channel, more=not helper_queued)
                if message is not None:
                    waited = _wait_for_a_send_slot(channel)
                    outcome = _send(message, channel)
        except BaseException:
            with contextlib.suppress(Exception):  # while this one waits for its retry, replies queue another
                mark_delete(mark)
            raise
        if message is None:
            with contextlib.suppress(Exception):
                mark_delete(mark)
            # Sender 0 looks again: a reply committed before the mark went is seen now; one
            # committed after it queues a sender itself.
            if slot == 0 and _any_waiting(channel_id):
                try:
                    again = mark_add(mark, SENDER_MARK_SECONDS)
                except Exception:  # no cache: nobody else would take it
                    again = True
                if again:
                    continue
            return outcomes
        outcomes.append(outcome)
        if outcome.status == "retry":
            message_deliver.apply_async(kwargs={"message_id": message.pk}, countdown=outcome.retry_in)
        if not helper_queued and message.more_waiting and not waited:
            helper_queued = True
            channel_senders_queue(channel_id=channel_id, slot=slot + 1)
        if time.monotonic() >= deadline:
            channel_deliver.delay(channel_id=channel_id, slot=slot)  # the mark goes to the successor
            return outcomes
    with contextlib.suppress(Exception):
        mark_delete(mark)
    return outcomes


def _fail(message: Message, error: ProviderError) -> None:
    message_status_advance(locked=message, status=Message.Status.FAILED, error_code=error.code,
                          error_message=error.message)


def mark_read_remote(*, message_id: int) -> None:
    message = Message.all_objects.select_related("channel").filter(
        pk=message_id, direction=Message.Direction.INBOUND, provider_message_id__isnull=False).first()
    adapter = adapter_for(message.channel) if message else None
    if adapter is not None:
        adapter.mark_read(message.provider_message_id)


def inbound_media_fetch_now(*, message_id: int) -> bool:
    """Download the media of a contact's message and keep it as an attachment (once)."""
    message = Message.all_objects.select_related("channel").filter(pk=message_id).first()
    if message is None or message.attachments.exists() or "media" not in message.content_attributes:
        return False
    adapter = adapter_for(message.channel)
    media = adapter.fetch_media(message.content_attributes["media"]) if adapter else None
    if media is None:
        return False
    message_attach_file(message=message, data=media.data, content_type=media.content_type, file_name=media.file_name)
    return True
