"""What Celery beat runs: provider data that cannot be pushed (templates) and sweeps that
make sure nothing a provider delivered or an agent wrote is left behind."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import channel_templates_replace
from conversations.models import Message
from integrations.models import WebhookEvent
from integrations.registry import ADAPTERS, adapter_for
from tenants.models import TenantEvent

STUCK_AFTER = timedelta(minutes=2)
EVENT_LOG_DAYS = 14


def channel_templates_sync(*, channel: Channel) -> int:
    """Replace the channel's templates with the provider's current list."""
    templates = adapter_for(channel).fetch_templates()
    return channel_templates_replace(channel=channel, templates=[vars(template) for template in templates])


def webhook_events_stuck() -> list[int]:
    """Stored webhooks whose processing task was lost (a worker died, the broker restarted)."""
    cutoff = timezone.now() - STUCK_AFTER
    return list(WebhookEvent.all_objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
                .values_list("pk", flat=True)[:1000])


def messages_stuck() -> list[int]:
    """Replies still PENDING a while after they were written, on channels that send."""
    cutoff = timezone.now() - STUCK_AFTER
    return list(Message.all_objects.filter(
        Q(send_after__isnull=True) | Q(send_after__lt=cutoff),  # a reply in its backoff has a retry queued
        direction=Message.Direction.OUTBOUND, private=False, status=Message.Status.PENDING,
        provider_message_id__isnull=True, created_at__lt=cutoff, channel__kind__in=list(ADAPTERS),
    ).values_list("pk", flat=True)[:1000])


def event_log_prune() -> int:
    deleted, _ = TenantEvent.all_objects.filter(
        created_at__lt=timezone.now() - timedelta(days=EVENT_LOG_DAYS)).delete()
    return deleted
