"""Outbound pipeline: an agent's reply (PENDING) → the channel's adapter → SENT with the
provider's id, or a retry with backoff, or FAILED with the provider's code and a reason."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from django.db import transaction

from channels_app.models import Channel
from channels_app.services import channel_set_status
from config.events import DomainEvent
from config.sql import fetch_all, for_update
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
    from integrations.tasks import conversation_mark_read_remote, message_deliver

    if event.name == "message.created" and event.direction == "INBOUND" and getattr(event, "has_media", False):
        from integrations.tasks import inbound_media_fetch

        inbound_media_fetch.delay(message_id=event.message_id)
    elif event.name in ("message.created", "message.retry_requested"):
        if event.name == "message.created" and (event.direction != "OUTBOUND" or event.private):
            return
        kind = Channel.all_objects.filter(pk=event.channel_id).values_list("kind", flat=True).first()
        if kind and has_adapter(kind):
            message_deliver.delay(message_id=event.message_id)
    elif event.name == "channel.created" or (event.name == "channel.updated"
                                               and {"config", "credentials"} & set(event.changed)):
        from integrations.tasks import TEMPLATE_KINDS, channel_templates_sync_task

        kind = Channel.all_objects.filter(pk=event.channel_id).values_list("kind", flat=True).first()
        if kind in TEMPLATE_KINDS:
            channel_templates_sync_task.delay(channel_id=event.channel_id)
    elif event.name == "conversation.read" and event.last_read_message_id:
        kind = Channel.all_objects.filter(pk=event.channel_id).values_list("kind", flat=True).first()
        if kind and has_adapter(kind):
            conversation_mark_read_remote.delay(message_id=event.last_read_message_id)


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


def _locked_pending(message_id: int, channel: Channel) -> Message | None:
    """The reply, locked, if it still waits to be sent (None when another task holds it),
    with everything sending needs read in the same statement (plain SQL: through the ORM,
    compiling this read cost more CPU than the send itself)."""
    message_table, conversation_table = Message._meta.db_table, Conversation._meta.db_table
    # The columns by name, not m.*: a prepared statement must not change shape with the table.
    columns = ", ".join(f"m.{field.column}" for field in Message._meta.concrete_fields)
    found = list(Message.all_objects.raw(
        f"""SELECT {columns}, ct.phone AS contact_phone, r.provider_message_id AS reply_to_provider_id,
                   (SELECT ci.external_id FROM {ContactIdentity._meta.db_table} ci
                     WHERE ci.contact_id = c.contact_id AND ci.channel_id = m.channel_id
                     ORDER BY ci.id LIMIT 1) AS recipient_external_id,
                   EXISTS (SELECT 1 FROM {Attachment._meta.db_table} a WHERE a.message_id = m.id) AS has_attachments
              FROM {message_table} m
              JOIN {conversation_table} c ON c.id = m.conversation_id
              JOIN {Contact._meta.db_table} ct ON ct.id = c.contact_id
              LEFT JOIN {message_table} r ON r.id = m.reply_to_id
             WHERE m.id = %s AND m.status IN (%s, %s) AND m.provider_message_id IS NULL
                   {for_update(skip_locked=True, of="m")}""",
        [message_id, Message.Status.PENDING, Message.Status.QUEUED]))
    if not found:
        return None
    message = found[0]
    message.channel = channel
    return message


def _wait_for_a_send_slot(channel: Channel) -> None:
    """Stay under the channel's throughput cap: wait (less than a second at a time) for a
    free slot rather than let the provider refuse the message."""
    adapter = adapter_for(channel)
    cap = adapter.throughput_per_second if adapter else None
    while cap:
        wait = throughput_acquire(key=f"channel:{channel.pk}", per_second=cap)
        if not wait:
            return
        time.sleep(wait)


def message_deliver_now(*, message_id: int, attempt: int = 0) -> DeliveryOutcome:
    """Hand one PENDING reply to its channel. Safe under Celery's at-least-once delivery:
    the row is locked while it is sent (a concurrent copy of the task skips it), and a
    message that already has the provider's id is never sent again."""
    # The channel as it is now (remembered per process while it does not change).
    found = fetch_all(
        f"SELECT m.channel_id, c.updated_at, t.updated_at FROM {Message._meta.db_table} m "
        f"JOIN {Channel._meta.db_table} c ON c.id = m.channel_id JOIN {Tenant._meta.db_table} t ON t.id = c.tenant_id "
        f"WHERE m.id = %s", [message_id])
    if not found:
        return DeliveryOutcome(done=True, status="skipped")
    channel_id, *version = found[0]
    channel = channels_as_of({channel_id: tuple(version)})[channel_id]
    _wait_for_a_send_slot(channel)
    with transaction.atomic():
        message = _locked_pending(message_id, channel)
        if message is None:
            return DeliveryOutcome(done=True, status="skipped")
        adapter = adapter_for(message.channel)
        if adapter is None:
            return DeliveryOutcome(done=True, status="no_adapter")
        try:
            result = adapter.send(_outbound(message))
        except ProviderAuthError as error:
            _fail(message, error)
            channel_set_status(channel=message.channel, status=Channel.Status.ERROR,
                               detail=f"{error.message} ({error.code})")
            return DeliveryOutcome(done=True, status="failed")
        except ProviderPermanentError as error:
            _fail(message, error)
            return DeliveryOutcome(done=True, status="failed")
        except ProviderTemporaryError as error:
            if attempt + 1 >= MAX_ATTEMPTS:
                _fail(message, error)
                return DeliveryOutcome(done=True, status="failed")
            wait = max(error.retry_after or 0.0, backoff_seconds(attempt))
            logger.info("message %s: %s (%s), retry in %.1fs", message_id, error.message, error.code, wait)
            return DeliveryOutcome(done=False, retry_in=wait, status="retry")
        message_status_advance(locked=message, status=Message.Status.SENT,
                               provider_message_id=result.provider_message_id)
        return DeliveryOutcome(done=True, status="sent")


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
