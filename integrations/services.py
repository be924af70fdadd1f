"""Inbound pipeline: store a provider's webhook first, then turn it into contacts,
conversations, messages and statuses through the core services."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from channels_app.models import Channel
from conversations.models import Message
from conversations.services import message_receive, message_status_update
from integrations.base import ChannelAdapter, WebhookRejected
from integrations.models import WebhookEvent
from integrations.registry import adapter_for

logger = logging.getLogger(__name__)


def webhook_channel(*, kind: str, token: str) -> Channel | None:
    """The live channel a webhook URL names (webhooks carry no tenant: the token is it)."""
    return (
        Channel.all_objects.select_related("tenant")
        .filter(kind=kind, webhook_token=token, archived_at__isnull=True).first()
    )


def webhook_accept(*, channel: Channel, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """Verify a webhook's signature and store it (raises WebhookRejected). Processing is
    queued after commit; the provider can be answered 200 as soon as this returns."""
    adapter = adapter_for(channel)
    if adapter is None:
        raise WebhookRejected("this channel kind takes no webhooks")
    adapter.verify_webhook(body=body, headers=headers)
    from integrations.tasks import webhook_event_process

    # One INSERT, committed on its own before the task is queued: the task always finds the
    # row, and no transaction round trips are spent on the hottest path there is.
    event = WebhookEvent.all_objects.create(
        tenant_id=channel.tenant_id, channel=channel, body=body.decode("utf-8", errors="replace"),
        signature=headers.get("X-Hub-Signature-256", "")[:200],
    )
    transaction.on_commit(lambda: webhook_event_process.delay(event_id=event.pk))
    return event


def webhook_event_process_now(*, event_id: int) -> WebhookEvent | None:
    """Turn one stored webhook into what it says. Safe to run twice: messages are unique
    per (channel, provider id) and statuses only move forward."""
    event = WebhookEvent.all_objects.select_related("channel__tenant").filter(pk=event_id).first()
    if event is None or event.status == WebhookEvent.Status.PROCESSED:
        return event
    WebhookEvent.all_objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    adapter = adapter_for(event.channel)
    try:
        batch = adapter.parse_webhook(event.body.encode())
    except (ValueError, KeyError, TypeError) as error:
        _finish(event, status=WebhookEvent.Status.FAILED, error=f"unreadable body: {error}")
        return event
    accounts = {update.account for update in (*batch.messages, *batch.statuses)}
    channels = ({adapter.account: event.channel} if accounts <= {adapter.account}
                else _channels_by_account(event.channel, adapter))
    unrouted = sorted({u.account for u in (*batch.messages, *batch.statuses) if u.account not in channels})
    for inbound in batch.messages:
        channel = channels.get(inbound.account)
        if channel is None:
            continue
        with transaction.atomic():
            message_receive(
                channel=channel, contact_external_id=inbound.contact_external_id,
                provider_message_id=inbound.provider_message_id, content=inbound.content,
                message_type=inbound.type, content_attributes=inbound.content_attributes,
                contact_name=inbound.contact_name, contact_phone=inbound.contact_phone, sent_at=inbound.sent_at,
                reply_to_provider_id=inbound.reply_to_provider_id,
            )
    unknown = []
    for update in batch.statuses:
        channel = channels.get(update.account)
        if channel is None:
            continue
        message = Message.all_objects.filter(channel=channel, provider_message_id=update.provider_message_id).first()
        if message is None:
            unknown.append(update.provider_message_id)
            continue
        message_status_update(message=message, status=update.status, error_code=update.error_code,
                              error_message=update.error_message, at=update.at)
    error = "; ".join([*batch.errors, *(f"status for unknown message {pid}" for pid in unknown),
                       *(f"no channel of this account for {account}" for account in unrouted)])
    _finish(event, status=WebhookEvent.Status.PROCESSED, error=error)
    return event


def _finish(event: WebhookEvent, *, status: str, error: str = "") -> None:
    WebhookEvent.all_objects.filter(pk=event.pk).update(status=status, error=error[:5000],
                                                        processed_at=timezone.now())
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
