"""What accounts runs in Celery: mail the inbox sends (a password reset's link), from a worker, so
the request that asked for it answers at once, as fast whether the account exists or not, and a
slow or absent mail server retries here instead of failing a page (the only place that queues
it); and what Celery beat runs for accounts: the audit log's retention."""

from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from django.core.mail import EmailMessage
from django.db import transaction

from accounts.audit import audit_entries_purge

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError, SMTPException), retry_backoff=True, retry_backoff_max=600,
             max_retries=6)
def email_send(*, subject: str, body: str, to: str, from_email: str | None = None) -> None:
    EmailMessage(subject=subject, body=body, from_email=from_email, to=[to]).send()


def email_send_queue(*, subject: str, body: str, to: str, from_email: str | None = None) -> None:
    """Send after the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: email_send.delay(subject=subject, body=body, to=to, from_email=from_email))


@shared_task(name="accounts.tasks.audit_entries_purge_task", acks_late=True)
def audit_entries_purge_task() -> int:
    """Delete the audit entries each tenant no longer keeps; returns how many (and logs them by
    tenant). Safe to run twice: the second finds nothing."""
    removed = audit_entries_purge()
    total = sum(removed.values())
    logger.info("audit log retention: %d entries deleted (%s)", total,
                ", ".join(f"{slug}: {count}" for slug, count in removed.items()) or "none due")
    return total
