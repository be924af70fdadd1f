"""What came while a channel paired by QR code was disconnected: once it is CONNECTED again,
the messages its provider kept since the contact's last message stored on the channel (a few
minutes before it, for clocks and late deliveries) are fetched (the provider is called outside
any transaction) and stored through the receive path, where the unique (channel, provider id)
makes whatever the webhooks did bring harmless. At most settings.MISSED_MESSAGES_LIMIT, the
newest; said in the log."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from channels_app.models import Channel
from conversations.incoming import ChannelInbound, IncomingMessage
from conversations.selectors import channel_last_inbound_at
from conversations.services import messages_receive
from integrations.registry import adapter_for

logger = logging.getLogger(__name__)

# How far before the last message stored the provider is asked from.
OVERLAP = timedelta(minutes=5)
# Messages stored per transaction.
CHUNK = 500


def missed_messages_fetch_now(*, channel_id: int) -> int:
    """Fetch and store what the channel's provider kept while it was disconnected; how many
    messages were new."""
    channel = Channel.all_objects.select_related("tenant").filter(pk=channel_id, archived_at__isnull=True).first()
    adapter = adapter_for(channel) if channel is not None else None
    if channel is None or adapter is None or not adapter.capabilities.missed_messages:
        return 0
    last = channel_last_inbound_at(channel_id=channel.pk)
    if last is None or channel.status != Channel.Status.CONNECTED:  # nothing to follow on, or gone again
        return 0
    # Until it was connected again: what came after has its webhooks (and a reply sent since
    # then is never mistaken for a message typed on the phone before its sender records it).
    until = channel.status_changed_at
    batch = adapter.messages_since(last - OVERLAP, until=until, limit=settings.MISSED_MESSAGES_LIMIT)
    messages: list[IncomingMessage] = [message for updates in batch.updates
                                       if updates.account in ("", adapter.account) for message in updates.messages]
    messages.sort(key=lambda message: (message.sent_at is None, message.sent_at))
    stored = 0
    for start in range(0, len(messages), CHUNK):
        with transaction.atomic():
            (outcome,) = messages_receive(inbound=[ChannelInbound(channel=channel, messages=messages[start:start + CHUNK])])
        stored += sum(1 for received in outcome.messages if received.created)
    logger.info("channel %s connected again: %d fetched from %s to %s, %d new%s", channel.pk, len(messages),
                (last - OVERLAP).isoformat(), until.isoformat() if until else "now", stored,
                f"; {'; '.join(batch.errors)}" if batch.errors else "")
    if batch.errors:
        logger.warning("channel %s: not all messages since it was disconnected were fetched: %s", channel.pk,
                       "; ".join(batch.errors))
    return stored
