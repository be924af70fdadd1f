"""What Celery beat runs for accounts: the audit log's retention."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.audit import audit_entries_purge

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.audit_entries_purge_task", acks_late=True)
def audit_entries_purge_task() -> int:
    """Delete the audit entries each tenant no longer keeps; returns how many (and logs them by
    tenant). Safe to run twice: the second finds nothing."""
    removed = audit_entries_purge()
    total = sum(removed.values())
    logger.info("audit log retention: %d entries deleted (%s)", total,
                ", ".join(f"{slug}: {count}" for slug, count in removed.items()) or "none due")
    return total
