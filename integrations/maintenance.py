"""What Celery beat and a worker coming up run: provider data that cannot be pushed
(templates) and the sweeps that make sure nothing a provider delivered or an agent wrote is
left behind. The sweeps are a backstop: leases that run out in seconds
(integrations.draining) are how a lost worker's work is normally taken up."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import channel_mark_reachable, channel_mark_unreachable, channel_templates_replace
from conversations.models import Message
from conversations.services import StatusChange, message_statuses_advance
from conversations.services.statuses import NO_PROVIDER, NO_PROVIDER_MESSAGE
from integrations.base import ProviderUnreachableError
from integrations.models import WebhookEvent
from integrations.registry import adapter_classes, adapter_for, kinds_with
from tenants.models import TenantEvent

# A webhook or reply still waiting this long after it arrived is the sweep's.
STUCK_AFTER = timedelta(seconds=30)
EVENT_LOG_DAYS = 14
# Webhook bodies the sweep deletes at most per run (integrations.maintenance.webhook_events_prune).
WEBHOOK_EVENTS_PRUNE_BATCH = 20_000


def channel_templates_sync(*, channel: Channel) -> int:
    """Replace the channel's templates with the provider's current list."""
    adapter = adapter_for(channel)
    try:
        templates = adapter.fetch_templates() if adapter is not None else []
    except ProviderUnreachableError as error:  # the channel says so, as a send that cannot go out does
        channel_mark_unreachable(channel=channel, detail=error.message)
        raise
    channel_mark_reachable(channel=channel)
    return channel_templates_replace(channel=channel, templates=[vars(template) for template in templates])


def channels_with_templates() -> list[int]:
    """Connected channels whose provider keeps templates (synced hourly), and those in error (a
    sync that gets through connects them again)."""
    return list(Channel.all_objects.filter(kind__in=kinds_with("templates"), archived_at__isnull=True,
                                           status__in=(Channel.Status.CONNECTED, Channel.Status.ERROR))
                .values_list("pk", flat=True))


def webhook_events_stuck(*, older_than: timedelta = STUCK_AFTER) -> list[int]:
    """Stored webhooks still waiting a while after they arrived (their task was lost)."""
    cutoff = timezone.now() - older_than
    return list(WebhookEvent.all_objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
                .order_by("pk").values_list("pk", flat=True)[:1000])


def channels_with_waiting_replies(*, older_than: timedelta = STUCK_AFTER) -> list[int]:
    """Channels that send and have replies waiting (written a while ago and out of their
    backoff): their sender was lost, or never queued."""
    cutoff = timezone.now() - older_than
    return sorted(set(Message.all_objects.filter(
        Q(send_after__isnull=True) | Q(send_after__lte=timezone.now()),
        direction=Message.Direction.OUTBOUND, private=False, status=Message.Status.PENDING,
        provider_message_id__isnull=True, send_lease_until__isnull=True, created_at__lte=cutoff,
        channel__kind__in=list(adapter_classes()),
    ).order_by().values_list("channel_id", flat=True).distinct()[:1000]))


def replies_without_provider_fail() -> int:
    """Replies waiting on channels whose kind no provider serves (written before it lost its
    provider): nothing would ever send them, so they fail, saying why. Returns how many."""
    with transaction.atomic():
        waiting = list(Message.all_objects.select_for_update().filter(
            direction=Message.Direction.OUTBOUND, private=False, status=Message.Status.PENDING,
        ).exclude(channel__kind__in=list(adapter_classes())).order_by("pk")[:1000])
        return message_statuses_advance([StatusChange(
            message, Message.Status.FAILED, error_code=NO_PROVIDER, error_message=NO_PROVIDER_MESSAGE)
            for message in waiting])


def webhook_events_prune(*, limit: int = WEBHOOK_EVENTS_PRUNE_BATCH) -> int:
    """Delete providers' webhook bodies kept past their time (at most `limit` a call; the sweep
    runs every minute): processed ones after WEBHOOK_EVENTS_KEEP_DAYS, failed ones (which admins
    process again from the channel's page) after WEBHOOK_EVENTS_FAILED_KEEP_DAYS. A body holds
    what the person wrote and their number: it is not kept longer than the work needs it (LGPD).
    Those waiting to be processed are never deleted."""
    now = timezone.now()
    old = Q(status=WebhookEvent.Status.PROCESSED,
            received_at__lt=now - timedelta(days=settings.WEBHOOK_EVENTS_KEEP_DAYS)) | Q(
        status=WebhookEvent.Status.FAILED,
        received_at__lt=now - timedelta(days=settings.WEBHOOK_EVENTS_FAILED_KEEP_DAYS))
    ids = list(WebhookEvent.all_objects.filter(old).order_by().values_list("pk", flat=True)[:limit])
    return WebhookEvent.all_objects.filter(pk__in=ids).delete()[0] if ids else 0


def event_log_prune() -> int:
    deleted, _ = TenantEvent.all_objects.filter(
        created_at__lt=timezone.now() - timedelta(days=EVENT_LOG_DAYS)).delete()
    return deleted
