"""Domain events: one small frozen dataclass per thing that happened, published by the
service that made it happen, recorded in the tenant's durable event log (TenantEvent) and
dispatched after the surrounding transaction commits, to the listeners named in
settings.DOMAIN_EVENT_LISTENERS, in that order.

Real-time push, the providers' listeners, outbound webhooks and automation subscribe by adding
to that list. The tenants app holds it because every event belongs to a tenant's log: every
other app may import it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.utils.module_loading import import_string

from config.sql import insert
from tenants.models import TenantEvent

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainEvent:
    name: ClassVar[str] = ""
    tenant_id: int
    # Position in the tenant's event log (tenants.TenantEvent), set when published.
    event_id: int | None = None

    def payload(self) -> dict[str, Any]:
        # Events hold flat values (ids, strings, tuples of strings), so a shallow copy is the
        # same as dataclasses.asdict, at a fraction of its cost (this runs for every message).
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                if field.name != "event_id"}


Listener = Callable[[DomainEvent], None]


@cache
def _listeners() -> tuple[Listener, ...]:
    return tuple(import_string(path) for path in settings.DOMAIN_EVENT_LISTENERS)


def _reset_listeners(*, setting: str, **kwargs: Any) -> None:
    if setting == "DOMAIN_EVENT_LISTENERS":
        _listeners.cache_clear()


setting_changed.connect(_reset_listeners)


def publish(event: DomainEvent) -> DomainEvent:
    """Record `event` in the tenant's event log, in the current transaction, and dispatch
    it to the listeners once that transaction commits (at once outside one).

    Never dispatched for a transaction that rolls back (and then never recorded either),
    so no listener hears of a change that did not happen, and no worker reads rows that
    are not committed yet.
    """
    payload = event.payload()
    (record,) = insert([TenantEvent(
        tenant_id=event.tenant_id, name=event.name, payload=payload,
        channel_id=payload.get("channel_id"), conversation_id=payload.get("conversation_id"),
    )])
    recorded = dataclasses.replace(event, event_id=record.pk)
    transaction.on_commit(lambda: dispatch(recorded), robust=False)
    return recorded


def publish_many(events: list[DomainEvent]) -> list[DomainEvent]:
    """`publish` for several events at once: one INSERT for all their log rows (a batch of
    a provider's messages), each dispatched on commit in the order given."""
    if not events:
        return []
    records = insert([
        TenantEvent(tenant_id=event.tenant_id, name=event.name, payload=payload,
                    channel_id=payload.get("channel_id"), conversation_id=payload.get("conversation_id"))
        for event, payload in ((event, event.payload()) for event in events)
    ])
    recorded = [dataclasses.replace(event, event_id=record.pk) for event, record in zip(events, records, strict=True)]
    transaction.on_commit(lambda: dispatch_many(recorded), robust=False)
    return recorded


def dispatch_many(events: list[DomainEvent]) -> None:
    """dispatch() for a batch: a listener with a `many` attribute takes the batch at once
    (real-time push sends it as one message), the others an event at a time."""
    for listener in _listeners():
        many = getattr(listener, "many", None)
        try:
            if many is not None:
                many(events)
            else:
                for event in events:
                    listener(event)
        except Exception:
            logger.exception("listener %r failed on a batch of %s events", listener, len(events))


def dispatch(event: DomainEvent) -> None:
    for listener in _listeners():
        try:
            listener(event)
        except Exception:  # one failing listener must not starve the others
            logger.exception("listener %r failed on %s", listener, event.name)


def log_event(event: DomainEvent) -> None:
    if logger.isEnabledFor(logging.INFO):
        logger.info("event %s %s", event.name, event.payload())


@dataclasses.dataclass(frozen=True, kw_only=True)
class TenantStatusChanged(DomainEvent):
    name = "tenant.status_changed"
    old_status: str
    new_status: str
