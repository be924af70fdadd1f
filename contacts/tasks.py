"""What contacts runs in Celery: CSV imports and exports (the work is in contacts.imports and
contacts.exports; these only queue it and call it), and, from Celery beat, the deletion of old ones."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from contacts.exports import contact_transfers_purge, export_job_run
from contacts.imports import import_job_run

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def contacts_import_run(job_pk: int) -> None:
    import_job_run(job_pk=job_pk)


@shared_task(acks_late=True)
def contacts_export_run(job_pk: int) -> None:
    export_job_run(job_pk=job_pk)


@shared_task(name="contacts.tasks.contact_transfers_purge_task", acks_late=True)
def contact_transfers_purge_task() -> int:
    removed = contact_transfers_purge()
    logger.info("contact imports and exports older than their retention: %d deleted", removed)
    return removed


def contacts_import_queue(job_pk: int) -> None:
    """Run the import after the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: contacts_import_run.delay(job_pk))


def contacts_export_queue(job_pk: int) -> None:
    transaction.on_commit(lambda: contacts_export_run.delay(job_pk))
