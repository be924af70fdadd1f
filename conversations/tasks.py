"""What Celery beat runs for conversations: the tenants' retention of messages and files."""

from __future__ import annotations

import logging

from celery import shared_task

from conversations.services.retention import messages_retention_apply

logger = logging.getLogger(__name__)


@shared_task(name="conversations.tasks.messages_retention_apply_task", acks_late=True)
def messages_retention_apply_task() -> dict[str, dict[str, int]]:
    """Delete the messages and files each tenant no longer keeps; returns what was removed by
    tenant slug (each tenant's report is also in its audit log). Safe to run twice: the second
    finds nothing."""
    reports = messages_retention_apply()
    logger.info("retention: %s", ", ".join(
        f"{slug}: {report.messages} messages, {report.attachments} attachments"
        for slug, report in reports.items()) or "no tenant limits how long it keeps messages")
    return {slug: {"messages": report.messages, "attachments": report.attachments, "files": report.files}
            for slug, report in reports.items()}
