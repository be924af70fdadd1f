"""What Celery beat runs, and what a worker runs when it comes up (integrations.maintenance).
The pipelines' own tasks live in integrations.inbound.tasks and integrations.outbound.tasks.

The task names are those of earlier versions, so that tasks waiting in the broker across an
upgrade still find their code."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts.notices import notices_prune
from channels_app.models import Channel
from conversations.services import messages_sending_expire
from integrations.base import ProviderError, ProviderTemporaryError
from integrations.inbound.contacts import channels_groups_refresh_all
from integrations.inbound.tasks import webhook_events_process, webhook_events_recover
from integrations.maintenance import (
    channel_templates_sync,
    channels_with_templates,
    channels_with_waiting_replies,
    event_log_prune,
    replies_without_provider_fail,
    webhook_events_prune,
    webhook_events_stuck,
)
from integrations.monitoring.alerts import alerts_evaluate
from integrations.monitoring.counters import activity_prune
from integrations.outbound.send import backoff_seconds
from integrations.outbound.tasks import channel_senders_queue
from integrations.pairing import channels_connection_check_all
from integrations.registry import adapter_for

logger = logging.getLogger(__name__)


@shared_task(name="integrations.tasks.channel_templates_sync_task", bind=True, acks_late=True, max_retries=5)
def channel_templates_sync_task(self, *, channel_id: int) -> int:  # type: ignore[no-untyped-def]
    """Templates are refreshed hourly anyway: a provider that cannot be reached now is retried
    a few times, then left for the next round (never an error for the caller)."""
    channel = Channel.all_objects.select_related("tenant").filter(pk=channel_id, archived_at__isnull=True).first()
    if channel is None or adapter_for(channel) is None:
        return 0
    try:
        return channel_templates_sync(channel=channel)
    except ProviderTemporaryError as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            # One line (the next hourly round tries again); the provider's reason is already short.
            logger.warning("channel %s (%s): templates not synced, will try again next round: %s",
                           channel_id, channel.name, error.message)
            return 0
        raise self.retry(countdown=backoff_seconds(self.request.retries)) from None
    except ProviderError as error:
        logger.warning("templates of channel %s not synced: %s (%s)", channel_id, error.message, error.code)
        return 0


def channel_templates_queue(*, channel_id: int) -> None:
    channel_templates_sync_task.delay(channel_id=channel_id)


@shared_task(name="integrations.tasks.templates_sync_all")
def templates_sync_all() -> int:
    channel_ids = channels_with_templates()
    for channel_id in channel_ids:
        channel_templates_sync_task.delay(channel_id=channel_id)
    return len(channel_ids)


@shared_task(name="integrations.tasks.channel_provider_remove", bind=True, max_retries=5)
def channel_provider_remove_task(self, *, channel_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Delete what the provider keeps for an archived channel (retried while it cannot be reached)."""
    channel = Channel.all_objects.filter(pk=channel_id).first()
    adapter = adapter_for(channel) if channel is not None else None
    if adapter is None:
        return False
    try:
        adapter.remove()
    except ProviderTemporaryError as error:
        raise self.retry(countdown=backoff_seconds(self.request.retries), exc=error) from None
    except ProviderError as error:
        logger.warning("channel %s: the provider kept its session: %s (%s)", channel_id, error.message, error.code)
        return False
    return True


def channel_provider_remove_queue(*, channel_id: int) -> None:
    channel_provider_remove_task.delay(channel_id=channel_id)


@shared_task(name="integrations.tasks.channels_connection_check")
def channels_connection_check() -> int:
    """The backstop of QR-paired channels' connection webhooks: each one's state asked of its
    provider (a lost "logged out" would otherwise leave a channel showing connected)."""
    return channels_connection_check_all()


@shared_task(name="integrations.tasks.channels_groups_refresh")
def channels_groups_refresh() -> int:
    """Group names and pictures of the providers that list groups but do not post their changes."""
    return channels_groups_refresh_all()


@shared_task(name="integrations.tasks.sweep_stuck_work")
def sweep_stuck_work() -> dict[str, int]:
    """The backstop: webhooks and replies waiting longer than they should, replies whose sender
    died mid-send, the old event log, the old webhook bodies, the old health counters and the old
    notices."""
    return _take_up_work(older_than=None, seize=False) | {
        "events_pruned": event_log_prune(), "webhook_bodies_pruned": webhook_events_prune(),
        "activity_pruned": activity_prune(older_than=timedelta(days=settings.ACTIVITY_KEEP_DAYS)),
        "notices_pruned": notices_prune(older_than=timedelta(days=settings.NOTICES_KEEP_DAYS))}


@shared_task(name="integrations.tasks.recover_work")
def recover_work() -> dict[str, int]:
    """A worker came up (or back to the broker): take up at once whatever waits, whoever
    queued it last (a worker that died may have taken its tasks with it, and their leases
    may not have run out yet)."""
    return _take_up_work(older_than=timedelta(0), seize=True)


def recover_work_queue() -> None:
    try:
        recover_work.delay()
    except Exception:  # the broker is away again: the sweep does it later
        logger.warning("recovery of waiting work not queued", exc_info=True)


def _take_up_work(*, older_than: timedelta | None, seize: bool) -> dict[str, int]:
    expired = messages_sending_expire()
    recovering = webhook_events_recover(seize=seize)
    events = [] if older_than is not None else webhook_events_stuck()
    for start in range(0, len(events), 100):
        webhook_events_process.delay(event_ids=events[start:start + 100])
    channels = channels_with_waiting_replies(**({"older_than": older_than} if older_than is not None else {}))
    senders = sum(channel_senders_queue(channel_id=channel_id, seize=seize) for channel_id in channels)
    unsendable = replies_without_provider_fail()
    return {"webhooks": len(events) or int(recovering), "senders": senders, "expired_claims": expired,
            "unsendable": unsendable}


@shared_task(name="integrations.tasks.alerts_evaluate_task", acks_late=True)
def alerts_evaluate_task() -> dict[str, int]:
    """The tenants' alert rules, evaluated (integrations.monitoring.alerts): safe to overlap."""
    result = alerts_evaluate()
    return {"rules": result.rules, "opened": result.opened, "resolved": result.resolved}
