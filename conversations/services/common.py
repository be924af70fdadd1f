"""What the conversation services share: the UNSET marker, previews, and the one write that
moves a conversation along when messages join it (`conversations_touch`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.models import User
from channels_app.models import Channel
from config.ids import as_uuid
from config.sql import execute
from conversations.models import Conversation, Message


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
PREVIEW_LENGTH = 200


def preview_of(message: Message) -> str:
    text = message.content.strip() or f"[{message.get_type_display()}]"
    return " ".join(text.split())[:PREVIEW_LENGTH]


def actor_id(actor: User | None) -> str | None:
    """The public id of who did it, for an event (None: the system, a provider)."""
    return str(actor.public_id) if actor is not None else None


def public_id_of(obj: Any) -> str | None:
    """An optional row's public id, for an event."""
    return str(obj.public_id) if obj is not None else None


def message_ids(message: Message, *, conversation: Conversation | None = None,
                channel: Channel | None = None) -> dict[str, Any]:
    """The ids every event of a message carries, internal and public. The public ones of its
    conversation and channel come from `conversation` and `channel` when given, else from what
    the statement that read the message read with it (`conversation_public_id`,
    `channel_public_id`: the hot paths), else from its relations (loaded if they are not)."""
    conversation_id = (conversation.public_id if conversation is not None
                       else getattr(message, "conversation_public_id", None) or message.conversation.public_id)
    channel_id = (channel.public_id if channel is not None
                  else getattr(message, "channel_public_id", None) or message.channel.public_id)
    return {"message_pk": message.pk, "conversation_pk": message.conversation_id, "channel_pk": message.channel_id,
            "message_id": str(message.public_id), "conversation_id": str(as_uuid(conversation_id)),
            "channel_id": str(as_uuid(channel_id))}


@dataclass(frozen=True)
class Touch:
    """What messages that joined one conversation do to it."""

    conversation_id: int
    newest_at: dt.datetime
    preview: str | None  # None: leave the preview (a private note)
    inbound: int = 0  # how many came from the contact (they count as unread)
    reopen: bool = False  # a resolved or snoozed conversation the contact wrote to again


def touches_for(messages: Sequence[Message], *, reopen: frozenset[int] = frozenset()) -> list[Touch]:
    """One Touch per conversation of `messages` (its newest message gives the preview)."""
    newest: dict[int, Message] = {}
    inbound: dict[int, int] = {}
    for message in messages:
        key = message.conversation_id
        if message.direction == Message.Direction.INBOUND:
            inbound[key] = inbound.get(key, 0) + 1
        if key not in newest or message.created_at >= newest[key].created_at:
            newest[key] = message
    return [Touch(conversation_id=key, newest_at=message.created_at,
                  preview=None if message.private else preview_of(message), inbound=inbound.get(key, 0),
                  reopen=key in reopen)
            for key, message in newest.items()]


def conversations_touch(*, tenant_id: int, touches: Sequence[Touch]) -> None:
    """Move conversations along for the messages that joined them: last activity, the preview
    (only from a message at least as new as the last activity: a provider's late delivery never
    moves a conversation back in time), the contact's last message and the unread count, and
    reopen those the contact wrote to again. One statement for all of them on PostgreSQL:
    through the ORM, the per-row CASE expressions cost more CPU than the messages themselves
    (this runs for every message)."""
    if not touches:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        for touch in touches:
            at = Value(touch.newest_at)
            updates: dict[str, Any] = {"last_activity_at": Greatest(F("last_activity_at"), at), "updated_at": now}
            if touch.preview is not None:
                updates["last_message_preview"] = Case(When(last_activity_at__lte=at, then=Value(touch.preview)),
                                                       default=F("last_message_preview"))
            if touch.inbound:
                updates["last_inbound_at"] = Coalesce(Greatest(F("last_inbound_at"), at), at)
                updates["unread_count"] = F("unread_count") + touch.inbound
            if touch.reopen:
                updates["status"], updates["snoozed_until"] = Conversation.Status.OPEN, None
            Conversation.all_objects.filter(pk=touch.conversation_id, tenant_id=tenant_id).update(**updates)
        return
    table = Conversation._meta.db_table
    execute(
        f"""UPDATE {table} AS c SET
               last_activity_at = GREATEST(c.last_activity_at, v.at),
               last_inbound_at = CASE WHEN v.inbound > 0 THEN GREATEST(COALESCE(c.last_inbound_at, v.at), v.at)
                                      ELSE c.last_inbound_at END,
               last_message_preview = CASE WHEN v.preview IS NOT NULL AND v.at >= c.last_activity_at THEN v.preview
                                           ELSE c.last_message_preview END,
               unread_count = c.unread_count + v.inbound,
               status = CASE WHEN v.reopen THEN %s ELSE c.status END,
               snoozed_until = CASE WHEN v.reopen THEN NULL ELSE c.snoozed_until END,
               updated_at = %s
           FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::int[], %s::boolean[])
                AS v(id, at, preview, inbound, reopen)
           WHERE c.id = v.id AND c.tenant_id = %s""",
        [Conversation.Status.OPEN, now, [touch.conversation_id for touch in touches],
         [touch.newest_at for touch in touches], [touch.preview for touch in touches],
         [touch.inbound for touch in touches], [touch.reopen for touch in touches], tenant_id],
    )
