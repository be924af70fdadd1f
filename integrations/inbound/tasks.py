"""Processing stored webhooks in Celery, and queueing it: the only place that queues it.

The task names are those of earlier versions (integrations.tasks.*), so that tasks waiting in
the broker across an upgrade still find their code."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task

from integrations.base import ProviderTemporaryError
from integrations.inbound.contacts import contact_details_fetch_now
from integrations.inbound.drain import process_lease, webhook_events_drain, webhook_lease
from integrations.inbound.media import inbound_media_fetch_now
from integrations.inbound.missed import missed_messages_fetch_now
from integrations.inbound.process import webhook_events_process_now

logger = logging.getLogger(__name__)
RECOVERY_LEASE_KEY = "webhooks:recovery"


@shared_task(name="integrations.tasks.webhook_events_process", acks_late=True, autoretry_for=(Exception,),
             retry_backoff=True, retry_backoff_max=600, max_retries=8)
def webhook_events_process(*, event_ids: list[int], queued_mark: str = "",
                           checkpoints: list[tuple[float, int]] | None = None, takes_up_later: bool = False) -> None:
    """Stored webhooks → messages and statuses. With `queued_mark` (a lease's key): what a web
    process stored, and what it stores while this task waits and runs (drained). Database or
    broker hiccups retry with backoff; the events stay stored (RECEIVED) meanwhile."""
    if queued_mark:
        drained = webhook_events_drain(event_ids=event_ids, lease_key=queued_mark,
                                       checkpoints=[(at, floor) for at, floor in checkpoints] if checkpoints else None)
        if drained.successor:
            webhook_events_process.delay(event_ids=[], queued_mark=queued_mark, checkpoints=drained.checkpoints)
    else:
        # `takes_up_later`: a task queued by an earlier version for webhooks that had no task of
        # their own; it still takes up what waits.
        webhook_events_process_now(event_ids=event_ids, always=takes_up_later)


@shared_task(name="integrations.tasks.webhook_event_process", acks_late=True, autoretry_for=(Exception,),
             retry_backoff=True, retry_backoff_max=600, max_retries=8)
def webhook_event_process(*, event_id: int) -> None:
    """One stored webhook (an admin's "process again")."""
    webhook_events_process_now(event_ids=[event_id])


def webhook_events_queue(event_ids: Sequence[int], *, coalesce: bool = False) -> None:
    """Queue the processing of stored webhooks, as one task. With `coalesce` (the ingress: its
    process stores one batch after another), nothing is queued while this process's task is
    queued or running: it takes these up. Should the broker be away, they stay stored and the
    sweep (or the next task's first batch) takes them up."""
    lease = process_lease() if coalesce else None
    if lease is not None and not lease.take():
        return
    try:
        webhook_events_process.delay(event_ids=list(event_ids), queued_mark=lease.key if lease else "")
    except Exception:
        logger.exception("processing of webhook events %s not queued", list(event_ids))
        if lease is not None:  # nothing waits for later batches: they queue again
            lease.release()


def webhook_events_recover(*, seize: bool = False) -> bool:
    """Queue a task that drains whatever waits, oldest first (a worker that comes up, the
    sweep), unless one is queued or running already (`seize`: whatever its lease says).
    Whether one was queued."""
    lease = webhook_lease(RECOVERY_LEASE_KEY)
    if seize:
        lease.seize()
    elif not lease.take():
        return False
    try:
        webhook_events_process.delay(event_ids=[], queued_mark=lease.key)
    except Exception:
        logger.exception("recovery of waiting webhooks not queued")
        lease.release()
        return False
    return True


@shared_task(name="integrations.tasks.inbound_media_fetch", acks_late=True, autoretry_for=(ProviderTemporaryError,),
             retry_backoff=True, max_retries=6)
def inbound_media_fetch(*, message_id: int) -> bool:
    """A contact's photo, audio or document: fetched from the provider after the message is stored."""
    return inbound_media_fetch_now(message_id=message_id)


def inbound_media_queue(*, message_id: int) -> None:
    inbound_media_fetch.delay(message_id=message_id)


@shared_task(name="integrations.tasks.contact_details_fetch", acks_late=True,
             autoretry_for=(ProviderTemporaryError,), retry_backoff=True, max_retries=5)
def contact_details_fetch(*, contact_id: int, channel_id: int) -> bool:
    """Who a contact that wrote without a name is (a group's subject), asked of its provider."""
    return contact_details_fetch_now(contact_id=contact_id, channel_id=channel_id)


def contact_details_queue(*, contact_id: int, channel_id: int) -> None:
    contact_details_fetch.delay(contact_id=contact_id, channel_id=channel_id)


@shared_task(name="integrations.tasks.missed_messages_fetch", acks_late=True,
             autoretry_for=(ProviderTemporaryError,), retry_backoff=True, retry_backoff_max=600, max_retries=6)
def missed_messages_fetch(*, channel_id: int) -> int:
    """What came while a channel paired by QR code was disconnected, fetched once it is back."""
    return missed_messages_fetch_now(channel_id=channel_id)


def missed_messages_queue(*, channel_id: int) -> None:
    missed_messages_fetch.delay(channel_id=channel_id)


def webhook_events_requeue(event_ids: Sequence[int]) -> None:
    """Process these webhooks again, each in a task of its own (an admin's "process again")."""
    for event_id in event_ids:
        webhook_event_process.delay(event_id=event_id)
