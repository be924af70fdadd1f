"""The health counters' listener (settings.DOMAIN_EVENT_LISTENERS, after the events' commit):
a batch's inbound messages and failures are added in one statement or two, whatever its size.
What a sender hands to a provider is counted by the sender (integrations.outbound.send), which
knows how long the provider took."""

from __future__ import annotations

from django.utils import timezone

from conversations.events import MessageCreated, MessageStatusChanged
from conversations.models import Message
from integrations.models import ActivitySlot
from integrations.monitoring.counters import Tally
from tenants.events import DomainEvent

_CHANNEL = ActivitySlot.Subject.CHANNEL


def activity_count(event: DomainEvent) -> None:
    activity_count_many([event])


def activity_count_many(events: list[DomainEvent]) -> None:
    tally = Tally()
    now = timezone.now()
    for event in events:
        if isinstance(event, MessageCreated):
            if event.direction == Message.Direction.INBOUND and not event.private:
                tally.add(kind=_CHANNEL, subject_pk=event.channel_pk, tenant_pk=event.tenant_pk, at=now,
                          received=1, last_received_at=now)
        elif isinstance(event, MessageStatusChanged) and event.status == Message.Status.FAILED:
            tally.add(kind=_CHANNEL, subject_pk=event.channel_pk, tenant_pk=event.tenant_pk, at=now, failed=1,
                      error_code=event.error_code or "unknown")
    tally.save()


activity_count.many = activity_count_many  # type: ignore[attr-defined]
