from __future__ import annotations

from celery import shared_task

from integrations.services import webhook_event_process_now


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600,
             max_retries=8)
def webhook_event_process(*, event_id: int) -> None:
    """A stored webhook → messages and statuses. Database or broker hiccups retry with
    backoff; the event stays stored (RECEIVED) meanwhile, and beat re-queues stragglers."""
    webhook_event_process_now(event_id=event_id)
