"""Mail the inbox sends (a password reset's link), from a Celery worker: the request that asked for
it answers at once, as fast whether the account exists or not, and a slow or absent mail server
retries here instead of failing a page. The only place that queues it."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.core.mail import EmailMessage
from django.db import transaction


@shared_task(acks_late=True, autoretry_for=(OSError, SMTPException), retry_backoff=True, retry_backoff_max=600,
             max_retries=6)
def email_send(*, subject: str, body: str, to: str, from_email: str | None = None) -> None:
    EmailMessage(subject=subject, body=body, from_email=from_email, to=[to]).send()


def email_send_queue(*, subject: str, body: str, to: str, from_email: str | None = None) -> None:
    """Send after the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: email_send.delay(subject=subject, body=body, to=to, from_email=from_email))
