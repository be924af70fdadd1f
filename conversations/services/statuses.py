"""A message's delivery status: the one path every status change takes (a provider's status
webhooks, the sender's result, an integrator's report), and the rules it keeps: delivery only
moves forward, read stays read, a failure ends a message that was never delivered."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from channels_app.models import Channel
from config.sql import columns, execute, fetch_all, for_update, instances, moment, one_of
from conversations.events import MessageStatusChanged
from conversations.models import Conversation, Message
from conversations.services.common import message_ids
from tenants.events import DomainEvent, publish_many

# The code of a reply whose sending was interrupted (its sender died between handing it to the
# provider and hearing back): it may or may not have reached the contact. The provider's proof
# (its id for the message, or a status that names ours) still turns it into SENT and beyond.
DELIVERY_UNKNOWN = "delivery_unknown"
# Stored as it is written here (the API speaks English); the inbox shows it in its reader's
# language (failure_text), whichever process's language was active when it was recorded.
DELIVERY_UNKNOWN_MESSAGE = gettext_noop("The sending was interrupted, so it is not known whether this reply reached "
                                        "the contact. Check with them before sending it again.")


# A reply on a channel whose kind no provider serves in this installation: it cannot go out.
NO_PROVIDER = "channel_kind_not_available"
NO_PROVIDER_MESSAGE = gettext_noop("This channel's kind is not available in this installation, so nothing can be "
                                   "sent on it. Ask an administrator to connect the number on an available kind.")
# A reply past the number of messages its channel may send a day (the tenant's cap).
DAILY_CAP = "daily_send_cap_reached"
DAILY_CAP_MESSAGE = gettext_noop("This number already sent as many messages today as its daily limit allows, so this "
                                 "reply was not sent. Send it again tomorrow, or raise the channel's daily limit.")
_OURS = frozenset({DELIVERY_UNKNOWN, NO_PROVIDER, DAILY_CAP})
# The code of a provider that could not be reached at all (nothing went out; it is tried again).
PROVIDER_UNREACHABLE = "connection"


def send_problem(*, error_code: str, error_message: str) -> tuple[str, str]:
    """What went wrong sending a reply, for whoever reads it: a sentence in their language and
    the technical detail behind it ("" when the sentence says it all). A provider's own
    explanation (a closed reply window...) is the sentence; a transport failure (no connection,
    no answer, an error page) is explained here, the provider's words kept as the detail."""
    if error_code in _OURS or not error_code:
        return failure_text(error_code=error_code, error_message=error_message), ""
    detail = f"{error_message} ({error_code})" if error_message else error_code
    if error_code == PROVIDER_UNREACHABLE:
        return gettext("The channel's provider could not be reached."), detail
    if error_code == "timeout":
        return gettext("The channel's provider did not answer in time."), detail
    if error_code == "bad_answer" or error_code.startswith("http_"):
        return gettext("The channel's provider answered with an error."), detail
    return error_message or error_code, ""


def failure_text(*, error_code: str, error_message: str) -> str:
    """What a failed message's error says to whoever reads it: ours in their language, a
    provider's as the provider wrote it."""
    return gettext(error_message) if error_code in _OURS and error_message else error_message

# Delivery only moves forward: a late "sent" never overwrites "read". FAILED stands apart: it
# ends a message that was never delivered, and a delivery report after it wins.
_RANK: dict[str, int] = {
    Message.Status.PENDING: 0, Message.Status.QUEUED: 1, Message.Status.FAILED: 2, Message.Status.SENT: 3,
    Message.Status.DELIVERED: 4, Message.Status.READ: 5,
}
_TIME_FIELD: dict[str, str] = {Message.Status.SENT: "sent_at", Message.Status.DELIVERED: "delivered_at",
                               Message.Status.READ: "read_at"}
# The columns a status can change; a batch writes them all for every message it changed.
_COLUMNS = ("status", "updated_at", "sent_at", "delivered_at", "read_at", "error_code", "error_message",
            "provider_message_id", "send_lease_until")


@dataclass(frozen=True)
class StatusChange:
    """Move `message` to `status`. `message` is the row as its caller read it: locked in the
    caller's transaction, or read earlier (the sender's claim), in which case the change is
    written only if the row is still as read, and otherwise applied to the row as it is now."""

    message: Message
    status: str
    at: dt.datetime | None = None
    error_code: str = ""
    error_message: str = ""
    provider_message_id: str | None = None


def _apply(message: Message, change: StatusChange) -> bool:
    """Move `message` (in memory) as `change` says if that is forward; whether it changed.
    FAILED may follow SENT (the provider reports an undeliverable message after accepting it);
    after FAILED only proof of delivery counts (DELIVERED, READ), or, for a reply whose sending
    was interrupted, any word from the provider that it has the message."""
    status, current = change.status, message.status
    if status == Message.Status.FAILED:
        if current not in (Message.Status.PENDING, Message.Status.QUEUED, Message.Status.SENT):
            return False
    elif current == Message.Status.FAILED:
        confirmed = message.error_code == DELIVERY_UNKNOWN
        if status not in (Message.Status.DELIVERED, Message.Status.READ) and not (
                confirmed and status == Message.Status.SENT):
            return False
        message.error_code, message.error_message = "", ""
    elif _RANK[status] <= _RANK[current]:
        return False
    if status != Message.Status.FAILED:  # what a retry said while it waited no longer holds
        message.error_code, message.error_message = "", ""
    message.status = status
    now = timezone.now()
    moment = change.at or now
    message.updated_at = now
    time_field = _TIME_FIELD.get(status)
    if time_field:
        setattr(message, time_field, moment)
        for earlier, field in _TIME_FIELD.items():  # a delivery report implies the earlier steps happened
            if _RANK[earlier] < _RANK[status] and getattr(message, field) is None:
                setattr(message, field, moment)
    if status == Message.Status.FAILED:
        message.error_code, message.error_message = change.error_code[:64], change.error_message[:500]
    if change.provider_message_id and not message.provider_message_id:
        message.provider_message_id = change.provider_message_id
    message.send_lease_until = None  # whatever it was, the sending is settled
    return True


def message_statuses_advance(changes: Sequence[StatusChange]) -> int:
    """Apply status changes, in order, each only if it moves its message forward; write each
    message once (one statement for the batch on PostgreSQL) and publish one
    `message.status_changed` per change that changed something (one INSERT into the event log).
    Runs in the caller's transaction. Returns how many changes changed something."""
    if not changes:
        return 0
    with transaction.atomic(savepoint=False):
        as_read: dict[int, tuple[str, dt.datetime | None]] = {}
        for change in changes:
            as_read.setdefault(change.message.pk, (change.message.status, change.message.send_lease_until))
        applied, rows = _applied(changes)
        stale = _write(rows, as_read)
        if stale:  # changed since its caller read it: again, on the row as it is now (locked)
            fresh = {row.pk: row for row in _lock(sorted(stale))}
            again = [StatusChange(**{**vars(change), "message": fresh[change.message.pk]})
                     for change in changes if change.message.pk in stale and change.message.pk in fresh]
            applied = [change for change in applied if change.message.pk not in stale]
            applied_again, rows_again = _applied(again)
            _write(rows_again, {})
            applied += applied_again
        publish_many([_changed(change) for change in applied])
    return len(applied)


def message_status_update(
    *, message: Message, status: str, provider_message_id: str | None = None, error_code: str = "",
    error_message: str = "", at: dt.datetime | None = None,
) -> bool:
    """One status for one message (an integrator's report, an admin's correction): the row
    is locked first. Whether it changed anything; `message` is kept up to date."""
    with transaction.atomic():
        (locked,) = _lock([message.pk])
        changed = message_statuses_advance([StatusChange(
            locked, status, at=at, error_code=error_code, error_message=error_message,
            provider_message_id=provider_message_id)])
    message.status = locked.status
    return bool(changed)


def messages_lock_for_statuses(*, channel_id: int, provider_message_ids: Collection[str] = (),
                               references: Collection[uuid.UUID] = ()) -> list[Message]:
    """The channel's messages with these provider ids, or its replies that have no provider id
    yet whose public id is one of `references` (a status that names our id for a reply whose
    sender died before recording the provider's), locked in id order (batches about the same
    messages wait for each other instead of deadlocking), for message_statuses_advance.
    Plain SQL with the columns by name: through the ORM, compiling this read cost more than
    the status updates it serves (up to three per reply)."""
    if provider_message_ids:
        wanted, params = one_of("m.provider_message_id", sorted(provider_message_ids))
        return _locked(f"m.channel_id = %s AND {wanted}", [channel_id, *params])
    public_id = Message._meta.get_field("public_id")
    named, named_params = one_of("m.public_id", [public_id.get_db_prep_value(reference, connection)
                                                 for reference in sorted(references)])
    return _locked(f"m.channel_id = %s AND {named} AND m.direction = %s AND m.provider_message_id IS NULL",
                   [channel_id, *named_params, Message.Direction.OUTBOUND])


def _lock(pks: Sequence[int]) -> list[Message]:
    ids, params = one_of("m.id", list(pks))
    return _locked(ids, params)


# Read with every message whose status may change: the public ids of its conversation and channel,
# for its event (joined on their primary keys, in the same statement).
_PUBLIC_IDS = ("conversation_public_id", "channel_public_id")


def _locked(where: str, params: Sequence[object], *, limit: int | None = None, skip_locked: bool = False
            ) -> list[Message]:
    """The messages (alias m) matching `where`, locked in id order, with their public ids."""
    return instances(
        Message,
        f"SELECT {columns(Message, 'm')}, c.public_id, ch.public_id FROM {Message._meta.db_table} m "
        f"JOIN {Conversation._meta.db_table} c ON c.id = m.conversation_id "
        f"JOIN {Channel._meta.db_table} ch ON ch.id = m.channel_id "
        f"WHERE {where} ORDER BY m.id{' LIMIT %s' if limit else ''}{for_update(skip_locked=skip_locked, of='m')}",
        [*params, *([limit] if limit else [])], extra=_PUBLIC_IDS)


def _applied(changes: Sequence[StatusChange]) -> tuple[list[StatusChange], dict[int, Message]]:
    """The changes that moved their message (each with the message as it stood right after
    it, for its event), and the messages to write."""
    applied: list[StatusChange] = []
    rows: dict[int, Message] = {}
    for change in changes:
        if _apply(change.message, change):
            rows[change.message.pk] = change.message
            applied.append(StatusChange(**{**vars(change), "error_code": change.message.error_code}))
    return applied, rows


def _write(rows: dict[int, Message], as_read: dict[int, tuple[str, dt.datetime | None]]) -> set[int]:
    """Write the changed messages; with `as_read`, each only if its row still has the status
    and sending lease it was read with. The ids of those that were not written (stale)."""
    if not rows:
        return set()
    messages = list(rows.values())
    guard = bool(as_read)
    if connection.vendor == "postgresql" and len(messages) > 1:
        table = Message._meta.db_table
        guarded = (" AND m.status = v.read_status AND m.send_lease_until IS NOT DISTINCT FROM v.read_lease"
                   if guard else "")
        written = fetch_all(
            f"""UPDATE {table} AS m SET status = v.status, updated_at = v.updated_at, sent_at = v.sent_at,
                       delivered_at = v.delivered_at, read_at = v.read_at, error_code = v.error_code,
                       error_message = v.error_message, provider_message_id = v.provider_message_id,
                       send_lease_until = v.send_lease_until
                  FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[],
                              %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[],
                              %s::timestamptz[])
                       AS v(id, status, updated_at, sent_at, delivered_at, read_at, error_code, error_message,
                            provider_message_id, send_lease_until, read_status, read_lease)
                 WHERE m.id = v.id{guarded} RETURNING m.id""",
            [[message.pk for message in messages],
             *([getattr(message, column) for message in messages] for column in _COLUMNS),
             [as_read.get(message.pk, ("", None))[0] for message in messages],
             [as_read.get(message.pk, ("", None))[1] for message in messages]],
        )
        return set(rows) - {row[0] for row in written}
    # One message (the sender's result, mostly), or SQLite: a plain UPDATE each, cheaper to send
    # than arrays.
    stale = set()
    quote = connection.ops.quote_name
    # _COLUMNS are Message's own concrete columns: plain fields (not relations), each with a column.
    fields = [cast("Field[Any, Any]", Message._meta.get_field(name)) for name in _COLUMNS]
    assignments = ", ".join(f"{quote(cast(str, field.column))} = %s" for field in fields)
    for message in messages:
        params = [field.get_db_prep_save(getattr(message, field.attname), connection) for field in fields]
        sql = f"UPDATE {quote(Message._meta.db_table)} SET {assignments} WHERE id = %s"
        params.append(message.pk)
        if guard:
            status, lease = as_read[message.pk]
            sql += " AND status = %s AND send_lease_until IS NOT DISTINCT FROM %s"
            params += [status, Message._meta.get_field("send_lease_until").get_db_prep_save(lease, connection)]
        if not execute(sql, params):
            stale.add(message.pk)
    return stale


def _changed(change: StatusChange) -> DomainEvent:
    message = change.message
    return MessageStatusChanged(tenant_pk=message.tenant_id, **message_ids(message), status=change.status,
                                error_code=change.error_code)


def messages_sending_expire(*, channel_id: int | None = None, limit: int = 500) -> int:
    """Replies whose sender's claim ran out without an answer (the sender died between handing
    one to the provider and hearing back): FAILED as "delivery unknown", so that the agent sees
    them. Never sent again on their own: the provider may have them. How many there were."""
    # Through the waiting replies' partial index (a claimed reply stays PENDING).
    where = (f"m.direction = %s AND m.provider_message_id IS NULL AND m.status = %s AND m.send_lease_until < %s"
             f"{' AND m.channel_id = %s' if channel_id is not None else ''}")
    params: list[object] = [Message.Direction.OUTBOUND, Message.Status.PENDING, moment(timezone.now()),
                            *([channel_id] if channel_id is not None else [])]
    with transaction.atomic():
        expired = _locked(where, params, limit=limit, skip_locked=True)
        return message_statuses_advance([StatusChange(
            message, Message.Status.FAILED, error_code=DELIVERY_UNKNOWN, error_message=DELIVERY_UNKNOWN_MESSAGE)
            for message in expired])
