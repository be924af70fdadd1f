"""Outbound webhooks' listener (settings.DOMAIN_EVENT_LISTENERS, called after the events'
transaction commits): the events integrators subscribed to become deliveries, and their
endpoints' senders are queued. A tenant without endpoints costs a dict lookup per event."""

from __future__ import annotations

from tenants.events import DomainEvent
from webhooks.services import webhook_deliveries_create
from webhooks.tasks import webhook_endpoints_deliver_queue


def webhooks_fan_out(event: DomainEvent) -> None:
    webhooks_fan_out_many([event])


def webhooks_fan_out_many(events: list[DomainEvent]) -> None:
    webhook_endpoints_deliver_queue(webhook_deliveries_create(events))


webhooks_fan_out.many = webhooks_fan_out_many  # type: ignore[attr-defined]
