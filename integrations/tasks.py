from __future__ import annotations

import time

from celery import shared_task

from integrations.base import ProviderTemporaryError
from integrations.outbound import mark_read_remote, message_deliver_now
from integrations.services import webhook_event_process_now


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600,
             max_retries=8)
def webhook_event_process(*, event_id: int) -> None:
    """A stored webhook → messages and statuses. Database or broker hiccups retry with
    backoff; the event stays stored (RECEIVED) meanwhile."""
    webhook_event_process_now(event_id=event_id)


@shared_task(bind=True, acks_late=True, max_retries=None)
def message_deliver(self, *, message_id: int) -> str:  # type: ignore[no-untyped-def]
    """Send one reply; the pipeline decides when to try again (backoff, throughput cap)."""
    outcome = message_deliver_now(message_id=message_id, attempt=self.request.retries)
    if not outcome.done:
        if self.request.is_eager:  # no broker to wait on: keep the pause short and bounded
            time.sleep(min(outcome.retry_in, 0.05))
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True, autoretry_for=(ProviderTemporaryError,), retry_backoff=True, max_retries=5)
def conversation_mark_read_remote(*, message_id: int) -> None:
    mark_read_remote(message_id=message_id)
