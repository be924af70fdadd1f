"""Domain events: one small frozen dataclass per thing that happened, published by the
service that made it happen, recorded in the tenant's durable event log (TenantEvent) and
dispatched after the surrounding transaction commits, to the listeners named in
settings.DOMAIN_EVENT_LISTENERS, in that order.

Real-time push, the providers' listeners, outbound webhooks and automation subscribe by adding
to that list. The tenants app holds it because every event belongs to a tenant's log: every
other app may import it.

Ids on events, one convention: a field named `*_pk` is a row's integer primary key, for the
listeners on the server (which channel's sender to wake, which sockets may see it); a field
named `*_id` is the row's public id (its UUID, as a string), for clients. `payload()` (what the
log records, what WebSocket frames and webhooks carry) leaves out every `*_pk`, so integers
never leave the server."""

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
    tenant_pk: int
    # The public id of the event's entry in the tenant's log (tenants.TenantEvent): its position
    # for a client that resumes. Set when published.
    event_id: str | None = None

    def payload(self) -> dict[str, Any]:
        # Events hold flat values (ids, strings, tuples of strings), so a shallow copy is the
        # same as dataclasses.asdict, at a fraction of its cost (this runs for every message).
        return {name: getattr(self, name) for name in _payload_fields(type(self))}


_PAYLOAD_FIELDS: dict[type[DomainEvent], tuple[str, ...]] = {}


def _payload_fields(event_class: type[DomainEvent]) -> tuple[str, ...]:
    """What clients are shown of an event of this class: every field but the internal ids
    (`*_pk`) and the event's own id (the frame carries it)."""
    found = _PAYLOAD_FIELDS.get(event_class)
    if found is None:
        found = _PAYLOAD_FIELDS[event_class] = tuple(
            field.name for field in dataclasses.fields(event_class)
            if not field.name.endswith("_pk") and field.name != "event_id")
    return found


def _log_entry(event: DomainEvent) -> TenantEvent:
    """The event's entry in its tenant's log; its public id is made here, in Python, so that
    the one INSERT of a batch needs nothing back but the primary keys."""
    return TenantEvent(tenant_id=event.tenant_pk, name=event.name, payload=event.payload(),
                       channel_id=getattr(event, "channel_pk", None),
                       conversation_id=getattr(event, "conversation_pk", None))


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
    entry = _log_entry(event)
    insert([entry])
    recorded = dataclasses.replace(event, event_id=str(entry.public_id))
    transaction.on_commit(lambda: dispatch(recorded), robust=False)
    return recorded


def publish_many(events: list[DomainEvent]) -> list[DomainEvent]:
    """`publish` for several events at once: one INSERT for all their log rows (a batch of
    a provider's messages), each dispatched on commit in the order given."""
    if not events:
        return []
    entries = [_log_entry(event) for event in events]
    insert(entries)
    recorded = [dataclasses.replace(event, event_id=str(entry.public_id))
                for event, entry in zip(events, entries, strict=True)]
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
    if logger.isEnabledFor(logging.INFO):  # (events hold ids, never what a message says)
        logger.info("event %s %s", event.name, event.payload(), extra={
            "tenant_id": getattr(event, "tenant_pk", None), "channel_id": getattr(event, "channel_pk", None),
            "message_id": getattr(event, "message_pk", None)})


@dataclasses.dataclass(frozen=True, kw_only=True)
class TenantStatusChanged(DomainEvent):
    name = "tenant.status_changed"
    old_status: str
    new_status: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TenantTwoFactorRequired(DomainEvent):
    """The tenant started (or stopped) requiring two-factor login: live sockets check theirs."""

    name = "tenant.two_factor_required"
    required: bool
