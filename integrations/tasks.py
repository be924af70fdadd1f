from __future__ import annotations

import logging
import time

from celery import shared_task

from channels_app.models import Channel
from integrations.base import ProviderError, ProviderTemporaryError
from integrations.maintenance import (
    channel_templates_sync,
    event_log_prune,
    messages_stuck,
    webhook_events_stuck,
)
from integrations.outbound import (
    backoff_seconds,
    channel_deliver_now,
    inbound_media_fetch_now,
    mark_read_remote,
    message_deliver_now,
)
from integrations.registry import adapter_for
from integrations.services import webhook_events_drain, webhook_events_process_now

logger = logging.getLogger(__name__)
# Channel kinds whose provider keeps message templates.
TEMPLATE_KINDS = (Channel.Kind.WHATSAPP_CLOUD,)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600,
             max_retries=8)
def webhook_events_process(*, event_ids: list[int], queued_mark: str = "", takes_up_later: bool = False,
                           checkpoints: list[tuple[float, int]] | None = None) -> None:
    """Stored webhooks → messages and statuses, a batch at a time: with `queued_mark`, what
    a web process stored, and what it stores while this task waits and runs (see
    webhook_events_drain). Database or broker hiccups retry with backoff; the events stay
    stored (RECEIVED) meanwhile."""
    if queued_mark:
        webhook_events_drain(event_ids=event_ids, queued_mark=queued_mark,
                             checkpoints=[(at, floor) for at, floor in checkpoints] if checkpoints else None)
    else:
        # `takes_up_later`: a successor queued by an earlier version stood for webhooks that
        # have no task of their own; it still takes up what waits.
        webhook_events_process_now(event_ids=event_ids, always=takes_up_later)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600,
             max_retries=8)
def webhook_event_process(*, event_id: int) -> None:
    """One stored webhook (tasks queued before batches existed, the admin's reprocess)."""
    webhook_events_process_now(event_ids=[event_id])


@shared_task(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=60,
             max_retries=8)
def channel_deliver(self, *, channel_id: int, slot: int = 0) -> int:  # type: ignore[no-untyped-def]
    """A channel's sender: its waiting replies, one after another (see integrations.outbound).
    Database or broker hiccups retry with backoff; the replies stay PENDING meanwhile."""
    outcomes = channel_deliver_now(channel_id=channel_id, slot=slot, helpers=not self.request.is_eager)
    return len(outcomes)


@shared_task(bind=True, acks_late=True, max_retries=None)
def message_deliver(self, *, message_id: int) -> str:  # type: ignore[no-untyped-def]
    """Send one reply (a retry after its backoff, the sweep); the pipeline decides when to
    try again (backoff, throughput cap)."""
    outcome = message_deliver_now(message_id=message_id)
    if not outcome.done:
        if self.request.is_eager:  # no broker to wait on: keep the pause short and bounded
            time.sleep(min(outcome.retry_in, 0.05))
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True, autoretry_for=(ProviderTemporaryError,), retry_backoff=True, max_retries=5)
def conversation_mark_read_remote(*, message_id: int) -> None:
    mark_read_remote(message_id=message_id)


@shared_task(bind=True, acks_late=True, max_retries=5)
def channel_templates_sync_task(self, *, channel_id: int) -> int:  # type: ignore[no-untyped-def]
    """Templates are refreshed hourly anyway: a provider that cannot be reached now is
    retried a few times, then left for the next round (never an error for the caller)."""
    channel = Channel.all_objects.select_related("tenant").filter(pk=channel_id, archived_at__isnull=True).first()
    if channel is None or adapter_for(channel) is None:
        return 0
    try:
        return channel_templates_sync(channel=channel)
    except ProviderTemporaryError as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            hint = " (sandbox: start manage.py whatsapp_simulator --sandbox-channels)" if channel.config.get(
                "sandbox") else ""
            logger.warning("templates of channel %s not synced now: %s%s", channel_id, error.message, hint)
            return 0
        raise self.retry(countdown=backoff_seconds(self.request.retries)) from None
    except ProviderError as error:
        logger.warning("templates of channel %s not synced: %s (%s)", channel_id, error.message, error.code)
        return 0


@shared_task
def templates_sync_all() -> int:
    channel_ids = Channel.all_objects.filter(kind__in=TEMPLATE_KINDS, archived_at__isnull=True,
                                             status=Channel.Status.CONNECTED).values_list("pk", flat=True)
    for channel_id in channel_ids:
        channel_templates_sync_task.delay(channel_id=channel_id)
    return len(channel_ids)


@shared_task
def sweep_stuck_work() -> dict[str, int]:
    """Re-queue webhooks and replies whose task was lost; prune the old event log."""
    events, messages = webhook_events_stuck(), messages_stuck()
    for start in range(0, len(events), 100):
        webhook_events_process.delay(event_ids=events[start:start + 100])
    for message_id in messages:
        message_deliver.delay(message_id=message_id)
    return {"webhooks": len(events), "messages": len(messages), "events_pruned": event_log_prune()}


@shared_task(acks_late=True, autoretry_for=(ProviderTemporaryError,), retry_backoff=True, max_retries=6)
def inbound_media_fetch(*, message_id: int) -> bool:
    """A contact's photo, audio or document: fetched from the provider after the message is stored."""
    return inbound_media_fetch_now(message_id=message_id)
