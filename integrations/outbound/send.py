"""Sending one reply: claim it, hand it to the channel's adapter, record what came of it.

No transaction and no row lock is held while the provider is called (a slow provider would
hold database connections and locks for as long as it likes). The claim is committed first:
the reply gets a lease (`send_lease_until`, it stays PENDING) that lasts longer than any call
to the provider may (adapters time out first), and no other sender takes it meanwhile. Then the
provider is called, and its answer is committed: SENT with the provider's id, FAILED with its
code and a reason, or waiting again after a backoff. A sender that dies in between leaves the
claim to run out; then the reply becomes FAILED as "delivery unknown" (messages_sending_expire),
never sent a second time on its own: the agent sees it and may send it again, and should the
provider confirm it after all (a status that names the message), it becomes SENT."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, Unpack, cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import channel_mark_reachable, channel_mark_unreachable, channel_set_status
from config.cache import counter_add, pace_take
from config.logs import log_context
from config.metrics import outbound_send_count
from config.sql import columns, execute, fetch_all, for_update, instances, moment
from contacts.models import Contact, ContactIdentity
from conversations.events import MessageUpdated
from conversations.models import Attachment, Conversation, Message
from conversations.services import DELIVERY_UNKNOWN, StatusChange, message_statuses_advance
from conversations.services.common import message_ids
from conversations.services.statuses import (
    DAILY_CAP,
    DAILY_CAP_MESSAGE,
    DELIVERY_UNKNOWN_MESSAGE,
    NO_PROVIDER,
    NO_PROVIDER_MESSAGE,
)
from integrations.base import (
    ChannelAdapter,
    OutboundMessage,
    ProviderAuthError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTemporaryError,
    ProviderUnreachableError,
)
from integrations.channel_cache import channel_current
from integrations.models import ActivitySlot
from integrations.monitoring.counters import activity_add
from integrations.registry import adapter_for
from integrations.throttle import daily_sends_key, throughput_acquire
from tenants.events import publish

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class SendOutcome:
    status: str  # sent, failed, unknown (delivery unknown), retry; skipped: it was not waiting
    message_id: int
    retry_in: float = 0.0
    more_waiting: bool = False  # other replies of the channel wait behind this one
    waited: float = 0.0  # seconds spent waiting for the channel's throughput cap
    provider_seconds: float | None = None  # how long the provider took to accept it (sent)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter (attempt 0, 1, 2... → up to 2, 4, 8... s)."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** attempt)


def reply_waiting_sql(alias: str) -> str:
    """A reply waiting to be sent: the condition of the partial index msg_outbound_waiting,
    spelled out so that PostgreSQL can use the index in a prepared statement's generic plan, and
    no sender's claim on it."""
    return (f"{alias}.direction = '{Message.Direction.OUTBOUND}' AND {alias}.provider_message_id IS NULL "
            f"AND {alias}.status = '{Message.Status.PENDING}' AND {alias}.send_lease_until IS NULL")


_EXTRA = ("contact_phone", "reply_to_provider_id", "recipient_external_id", "has_attachments", "more_waiting",
          "conversation_public_id")


class _ClaimedColumns(TypedDict):
    """What the claim reads with a reply (_EXTRA), as the database driver returns it."""

    contact_phone: str | None
    reply_to_provider_id: str | None
    recipient_external_id: str | None
    has_attachments: int  # EXISTS: a bool on PostgreSQL, 0 or 1 on SQLite
    more_waiting: int  # the same
    conversation_public_id: uuid.UUID | str  # text on SQLite


if TYPE_CHECKING:  # django-stubs-ext is a development requirement only
    # A reply as the claim read it: the message, and what was read with it.
    ClaimedReply = WithAnnotations[Message, _ClaimedColumns]


def _claim(where: str, params: list[object], channel: Channel, *, more: bool = False) -> ClaimedReply | None:
    """Claim the oldest reply matching `where` (on alias w) that waits to be sent, skipping
    those another sender is claiming: a lease, committed at once. One statement,
    which also reads everything sending needs (plain SQL: through the ORM, compiling this read
    cost more CPU than the send itself). With `more`, whether other replies of the channel wait
    behind it (`message.more_waiting`)."""
    # The updated table is not aliased: SQLite's RETURNING names it by its own name only.
    m, conversation_table = Message._meta.db_table, Conversation._meta.db_table
    behind = (f"EXISTS (SELECT 1 FROM {m} b WHERE b.channel_id = {m}.channel_id AND b.id > {m}.id "
              f"AND {reply_waiting_sql('b')})" if more else "FALSE")
    lease_until = timezone.now() + dt.timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS)
    # One statement, committed by itself (outside a caller's transaction): the claim holds as
    # soon as it returns, with no BEGIN and COMMIT of ours around it.
    found = instances(
        Message,
        f"""UPDATE {m} SET send_lease_until = %s
             WHERE id = (SELECT w.id FROM {m} w WHERE {where} AND {reply_waiting_sql('w')}
                          ORDER BY w.id LIMIT 1{for_update(skip_locked=True)})
         RETURNING {columns(Message)},
               (SELECT ct.phone FROM {conversation_table} c JOIN {Contact._meta.db_table} ct
                   ON ct.id = c.contact_id WHERE c.id = {m}.conversation_id) AS contact_phone,
               (SELECT r.provider_message_id FROM {m} r WHERE r.id = {m}.reply_to_id) AS reply_to_provider_id,
               (SELECT ci.external_id FROM {ContactIdentity._meta.db_table} ci
                   JOIN {conversation_table} c ON c.contact_id = ci.contact_id
                 WHERE c.id = {m}.conversation_id AND ci.channel_id = {m}.channel_id ORDER BY ci.id LIMIT 1)
                   AS recipient_external_id,
               EXISTS (SELECT 1 FROM {Attachment._meta.db_table} a WHERE a.message_id = {m}.id)
                   AS has_attachments,
               {behind} AS more_waiting,
               (SELECT c.public_id FROM {conversation_table} c WHERE c.id = {m}.conversation_id)
                   AS conversation_public_id""",
        [moment(lease_until), *params], extra=_EXTRA)
    if not found:
        return None
    message = cast("ClaimedReply", found[0])  # instances() set the _EXTRA columns on it
    message.channel = channel
    return message


def reply_claim_next(channel: Channel, *, more: bool = False) -> ClaimedReply | None:
    """Claim the channel's oldest reply that waits to be sent and is not in a retry's backoff."""
    return _claim("w.channel_id = %s AND (w.send_after IS NULL OR w.send_after <= %s)",
                  [channel.pk, moment(timezone.now())], channel, more=more)


def reply_claim(message_id: int, channel: Channel) -> ClaimedReply | None:
    """Claim this reply if it still waits to be sent (whatever its backoff: its own retry asks)."""
    return _claim("w.id = %s", [message_id], channel)


def _outbound(message: ClaimedReply) -> OutboundMessage:
    """What the adapter sends, from a claimed reply (its annotations)."""
    recipient = message.recipient_external_id or (message.contact_phone or "").lstrip("+")
    attachments = tuple(
        {"file_name": item.file_name, "content_type": item.content_type, "data": item.file.read()}
        for item in message.attachments.all() if item.file
    ) if message.has_attachments else ()
    return OutboundMessage(
        message_id=message.pk, to=recipient, type=message.type, content=message.content,
        content_attributes=message.content_attributes, reply_to_provider_id=message.reply_to_provider_id,
        attachments=attachments, reference=str(message.public_id),
    )


def _wait_for_a_send_slot(channel: Channel) -> float:
    """Stay under the channel's throughput cap: wait (less than a second at a time) for a free
    slot rather than let the provider refuse the message; and on a paced channel, for its next
    turn, a random gap after the one before. Returns the seconds waited."""
    adapter = adapter_for(channel)
    cap = adapter.throughput_per_second if adapter else None
    waited = 0.0
    while cap:
        wait = throughput_acquire(key=f"channel:{channel.pk}", per_second=cap)
        if not wait:
            break
        time.sleep(wait)
        waited += wait
    pacing = adapter.send_pacing_seconds if adapter else None
    if pacing:
        wait = pace_take(f"pace:channel:{channel.pk}", random.uniform(*pacing))
        time.sleep(wait)
        waited += wait
    return waited


def _over_daily_cap(channel: Channel, adapter: ChannelAdapter) -> bool:
    """Count one send of the channel today; whether it passes the cap its tenant set."""
    cap = adapter.daily_send_cap
    if not cap:
        return False
    return counter_add(daily_sends_key(channel.pk), 2 * 86_400) > cap


def reply_send(message: ClaimedReply, channel: Channel) -> SendOutcome:
    """Send a claimed reply (outside any transaction) and record what came of it (and count it:
    config.metrics' inbox_outbound_sends by outcome)."""
    with log_context(tenant_id=message.tenant_id, channel_id=channel.pk, message_id=message.pk):
        outcome = _reply_send(message, channel)
    outbound_send_count(kind=channel.kind, outcome=outcome.status, seconds=outcome.provider_seconds)
    if outcome.status in ("sent", "failed", "unknown"):  # handed over for good (its failure: the listener's)
        activity_add(kind=ActivitySlot.Subject.CHANNEL, subject_pk=channel.pk, tenant_pk=channel.tenant_id,
                     attempted=1, latency_ms=None if outcome.provider_seconds is None
                     else round(outcome.provider_seconds * 1000),
                     templates=int(outcome.status == "sent" and message.type == Message.Type.TEMPLATE))
    return outcome


def _reply_send(message: ClaimedReply, channel: Channel) -> SendOutcome:
    more = bool(getattr(message, "more_waiting", False))
    waited = _wait_for_a_send_slot(channel)
    adapter = adapter_for(channel)
    try:
        if adapter is None:
            raise ProviderPermanentError(NO_PROVIDER_MESSAGE, code=NO_PROVIDER)
        if _over_daily_cap(channel, adapter):
            raise ProviderPermanentError(DAILY_CAP_MESSAGE, code=DAILY_CAP)
        outbound = _outbound(message)
        started = time.perf_counter()
        result = adapter.send(outbound)
    except ProviderAuthError as error:
        _settle(message, Message.Status.FAILED, error_code=error.code, error_message=error.message)
        channel_set_status(channel=channel, status=Channel.Status.ERROR, detail=f"{error.message} ({error.code})")
        return SendOutcome("failed", message.pk, more_waiting=more, waited=waited)
    except ProviderPermanentError as error:
        _settle(message, Message.Status.FAILED, error_code=error.code, error_message=error.message)
        return SendOutcome("failed", message.pk, more_waiting=more, waited=waited)
    except ProviderTemporaryError as error:
        if isinstance(error, ProviderUnreachableError):
            channel_mark_unreachable(channel=channel, detail=error.message)
        attempt = message.send_attempts
        if attempt + 1 >= MAX_ATTEMPTS:
            _settle(message, Message.Status.FAILED, error_code=error.code, error_message=error.message)
            return SendOutcome("failed", message.pk, more_waiting=more, waited=waited)
        wait = max(error.retry_after or 0.0, backoff_seconds(attempt))
        _put_off(message, attempt=attempt + 1, until=timezone.now() + dt.timedelta(seconds=wait), error=error)
        logger.info("message %s: %s (%s), retry in %.1fs", message.pk, error.message, error.code, wait)
        return SendOutcome("retry", message.pk, retry_in=wait, more_waiting=more, waited=waited)
    except Exception as error:  # ProviderOutcomeUnknown, or a bug: it may have gone, never again on its own
        if not isinstance(error, ProviderOutcomeUnknown):
            logger.exception("sending message %s failed unexpectedly", message.pk)
        _settle(message, Message.Status.FAILED, error_code=DELIVERY_UNKNOWN,
                error_message=DELIVERY_UNKNOWN_MESSAGE)
        return SendOutcome("unknown", message.pk, more_waiting=more, waited=waited)
    took = time.perf_counter() - started
    _settle(message, Message.Status.SENT, provider_message_id=result.provider_message_id)
    channel_mark_reachable(channel=channel)
    return SendOutcome("sent", message.pk, more_waiting=more, waited=waited, provider_seconds=took)


class _SettleDetails(TypedDict, total=False):
    """What a provider's answer adds to a StatusChange."""

    error_code: str
    error_message: str
    provider_message_id: str


def _settle(message: Message, status: str, **details: Unpack[_SettleDetails]) -> None:
    """The provider's answer, through the one status path: written if the reply is still as it
    was claimed, else applied to what it is now (its claim ran out meanwhile)."""
    with transaction.atomic():
        message_statuses_advance([StatusChange(message, status, **details)])


def _put_off(message: Message, *, attempt: int, until: dt.datetime, error: ProviderTemporaryError) -> None:
    """Back to waiting, after its backoff (the provider refused it for now: it was not sent),
    with the reason kept on it: the agent sees at once that it is being retried, and why."""
    code, reason = error.code[:64], error.message[:500]
    put_off = execute(
        f"UPDATE {Message._meta.db_table} SET send_lease_until = NULL, send_attempts = %s, send_after = %s, "
        f"error_code = %s, error_message = %s, updated_at = %s "
        f"WHERE id = %s AND status = %s AND send_lease_until = %s",
        [attempt, moment(until), code, reason, moment(timezone.now()), message.pk, Message.Status.PENDING,
         moment(message.send_lease_until)])
    if not put_off:
        logger.warning("message %s: its claim ran out before the provider refused it", message.pk)
        return
    message.send_attempts, message.send_after, message.send_lease_until = attempt, until, None
    message.error_code, message.error_message = code, reason
    publish(MessageUpdated(tenant_pk=message.tenant_id, **message_ids(message, channel=message.channel),
                               changed=("error_code", "error_message")))


def reply_send_next(channel: Channel, *, more: bool = False) -> SendOutcome | None:
    """Claim the channel's next waiting reply and send it; None when none waits."""
    message = reply_claim_next(channel, more=more)
    return reply_send(message, channel) if message is not None else None


def message_deliver_now(*, message_id: int) -> SendOutcome:
    """Send this one reply if it still waits (its retry after a backoff, a task of an earlier
    version); "skipped" when it does not. Safe under Celery's at-least-once delivery: a reply
    is claimed once, and one that has the provider's id is never sent again."""
    found = fetch_all(f"SELECT channel_id FROM {Message._meta.db_table} WHERE id = %s", [message_id])
    channel = channel_current(found[0][0]) if found else None
    message = reply_claim(message_id, channel) if channel is not None else None
    if message is None or channel is None:
        return SendOutcome("skipped", message_id)
    return reply_send(message, channel)
