"""The webhooks' Celery tasks (thin: they call webhooks.services)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from celery import shared_task
from django.conf import settings
from django.db import transaction

from config.embedded import later
from webhooks.services import (
    webhook_deliveries_purge,
    webhook_endpoint_deliver,
    webhook_endpoints_due,
    webhook_endpoints_idle,
)

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.tasks.webhook_endpoint_deliver_task", acks_late=True, ignore_result=True)
def webhook_endpoint_deliver_task(*, endpoint_pk: int) -> int:
    """The endpoint's sender, for a turn; it keeps looking for new deliveries for a moment once
    it has nothing to send (not when tasks run eagerly: there it would hold the caller)."""
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    return webhook_endpoint_deliver(endpoint_pk=endpoint_pk,
                                    linger=0.0 if eager else settings.WEBHOOK_SENDER_LINGER_SECONDS,
                                    turn=settings.WEBHOOK_SENDER_TURN_SECONDS,
                                    handover=lambda: _deliver_soon([endpoint_pk]))


def webhook_endpoints_deliver_queue(endpoint_pks: Iterable[int]) -> None:
    """Queue the senders of these endpoints once the current transaction commits (not for an
    endpoint whose sender is at work: it takes up new deliveries itself, and looks once more
    after it lets go of the endpoint)."""
    pks = list(endpoint_pks)
    if pks:
        transaction.on_commit(lambda: _deliver_soon(webhook_endpoints_idle(pks)))


def _deliver_soon(pks: list[int]) -> None:
    for pk in pks:
        # Embedded default (tasks eager): on the scheduler's thread, not on the request's path,
        # where a slow endpoint would hold the agent's page for its timeout.
        if settings.CELERY_TASK_ALWAYS_EAGER and later(0, functools.partial(
                webhook_endpoint_deliver_task.apply, kwargs={"endpoint_pk": pk})):
            continue
        webhook_endpoint_deliver_task.delay(endpoint_pk=pk)


@shared_task(name="webhooks.tasks.webhook_deliveries_sweep", acks_late=True, ignore_result=True)
def webhook_deliveries_sweep() -> int:
    """Due retries (and anything a lost task left): each such endpoint's sender is queued."""
    due = webhook_endpoints_due()
    for pk in due:
        webhook_endpoint_deliver_task.delay(endpoint_pk=pk)
    return len(due)


@shared_task(name="webhooks.tasks.webhook_deliveries_purge_task", acks_late=True, ignore_result=True)
def webhook_deliveries_purge_task() -> int:
    removed = webhook_deliveries_purge()
    logger.info("webhook deliveries retention: %d deleted", removed)
    return removed
