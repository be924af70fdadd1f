"""What contacts runs in Celery: CSV imports and exports (the work is in contacts.imports and
contacts.exports; these only queue it and call it)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from contacts.exports import export_job_run
from contacts.imports import import_job_run


@shared_task(acks_late=True)
def contacts_import_run(job_pk: int) -> None:
    import_job_run(job_pk=job_pk)


@shared_task(acks_late=True)
def contacts_export_run(job_pk: int) -> None:
    export_job_run(job_pk=job_pk)


def contacts_import_queue(job_pk: int) -> None:
    """Run the import after the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: contacts_import_run.delay(job_pk))


def contacts_export_queue(job_pk: int) -> None:
    transaction.on_commit(lambda: contacts_export_run.delay(job_pk))
