"""Sending replies and read receipts in Celery, and queueing them: the only place that does.

The task names are those of earlier versions (integrations.tasks.*), so that tasks waiting in
the broker across an upgrade still find their code."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from config import embedded
from integrations.base import ProviderTemporaryError
from integrations.outbound.receipts import message_mark_read_remote
from integrations.outbound.send import message_deliver_now
from integrations.outbound.senders import channel_senders_run, sender_lease

logger = logging.getLogger(__name__)


class _CeleryQueue:
    """What a running sender asks for, queued in Celery."""

    def helper(self, *, channel_id: int, slot: int) -> None:
        channel_senders_queue(channel_id=channel_id, slot=slot)

    def retry(self, *, message_id: int, countdown: float) -> None:
        if not (message_deliver.app.conf.task_always_eager and _deliver_later(message_id, countdown)):
            message_deliver.apply_async(kwargs={"message_id": message_id}, countdown=countdown)


def _deliver_later(message_id: int, countdown: float) -> bool:
    """The embedded default (eager tasks, no broker): the retry after its backoff, on the embedded
    scheduler (config.embedded), when it runs in this process."""
    return embedded.later(countdown, lambda: message_deliver.apply(kwargs={"message_id": message_id}))


@shared_task(name="integrations.tasks.channel_deliver", bind=True, acks_late=True, autoretry_for=(Exception,),
             retry_backoff=True, retry_backoff_max=60, max_retries=8)
def channel_deliver(self, *, channel_id: int, slot: int = 0) -> int:  # type: ignore[no-untyped-def]
    """A channel's sender: its waiting replies, one after another (integrations.outbound.senders).
    Database or broker hiccups retry with backoff; the replies stay PENDING meanwhile."""
    run = channel_senders_run(channel_id=channel_id, slot=slot, helpers=not self.request.is_eager,
                              queue=_CeleryQueue())
    if run.successor:
        channel_deliver.delay(channel_id=channel_id, slot=slot)
    return len(run.outcomes)


@shared_task(name="integrations.tasks.message_deliver", bind=True, acks_late=True, max_retries=None)
def message_deliver(self, *, message_id: int) -> str:  # type: ignore[no-untyped-def]
    """Send one reply after its backoff; the pipeline decides when to try again."""
    outcome = message_deliver_now(message_id=message_id)
    if outcome.status == "retry":
        if self.request.is_eager and _deliver_later(message_id, outcome.retry_in):
            return outcome.status
        if self.request.is_eager:  # no broker to wait on: keep the pause short and bounded
            time.sleep(min(outcome.retry_in, 0.05))
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="integrations.tasks.conversation_mark_read_remote", acks_late=True,
             autoretry_for=(ProviderTemporaryError,), retry_backoff=True, max_retries=5)
def conversation_mark_read_remote(*, message_id: int) -> bool:
    return message_mark_read_remote(message_id=message_id)


def channel_senders_queue(*, channel_id: int, slot: int = 0, seize: bool = False) -> bool:
    """Queue the sender of this slot for the channel's waiting replies, unless it is queued or
    running already (`seize`: whatever its lease says). Whether one was queued. Should the broker
    be away, the replies wait, and the next reply, a worker coming up or the sweep queues a sender."""
    lease = sender_lease(channel_id, slot)
    if seize:
        lease.seize()
    elif not lease.take():
        return False
    try:
        channel_deliver.delay(channel_id=channel_id, slot=slot)
    except Exception:
        logger.exception("sender of channel %s not queued", channel_id)
        lease.release()
        return False
    return True


def read_receipt_queue(*, message_id: int) -> None:
    conversation_mark_read_remote.delay(message_id=message_id)
