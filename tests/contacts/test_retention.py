"""Retention per tenant: the daily task deletes each tenant's messages (with their files) and
files older than it keeps them, in batches, never another tenant's, and reports what it removed
(its return value, an audit entry per tenant, the privacy page). Only administrators set it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry, Role
from conversations.models import Attachment, Conversation, Message
from conversations.services.retention import tenant_retention_apply
from conversations.tasks import messages_retention_apply_task
from tests import factories
from tests.clients import page

pytestmark = pytest.mark.django_db


def _message(conversation: Any, *, days: int, file: bool = False) -> tuple[Message, Attachment | None]:
    at = timezone.now() - dt.timedelta(days=days)
    message = factories.MessageFactory(conversation=conversation, created_at=at, content=f"{days} days old")
    attachment = None
    if file:
        attachment = Attachment.all_objects.create(tenant=conversation.tenant, message=message,
                                                   file=ContentFile(b"bytes", name=f"f{days}.txt"),
                                                   file_name=f"{days}.txt", content_type="text/plain", size=5)
        Attachment.all_objects.filter(pk=attachment.pk).update(created_at=at)
    return message, attachment


def test_the_task_deletes_old_messages_and_files_and_keeps_recent_ones_and_other_tenants(
        acme: Any, globex: Any, django_capture_on_commit_callbacks: Any) -> None:
    acme.message_retention_days, acme.attachment_retention_days = 90, 30
    acme.save()
    old_conversation = factories.ConversationFactory(tenant=acme, last_message_preview="200 days old")
    conversation = factories.ConversationFactory(tenant=acme)
    ancient, ancient_file = _message(old_conversation, days=200, file=True)
    old, old_file = _message(conversation, days=100, file=True)
    aging, aging_file = _message(conversation, days=45, file=True)
    recent, recent_file = _message(conversation, days=5, file=True)
    reply = factories.MessageFactory(conversation=conversation, reply_to=old)
    # Globex keeps everything for ever: its old rows stay.
    foreign, foreign_file = _message(factories.ConversationFactory(tenant=globex), days=400, file=True)
    removed_files = [ancient_file.file.name, old_file.file.name, aging_file.file.name]

    with django_capture_on_commit_callbacks(execute=True):
        result = messages_retention_apply_task()

    assert result == {"acme": {"messages": 2, "attachments": 3, "files": 3}}
    assert set(Message.all_objects.filter(tenant=acme)) == {aging, recent, reply}
    assert set(Attachment.all_objects.filter(tenant=acme)) == {recent_file}
    assert not any(default_storage.exists(name) for name in removed_files)
    assert default_storage.exists(recent_file.file.name) and default_storage.exists(foreign_file.file.name)
    assert Message.all_objects.filter(pk=foreign.pk).exists() and Attachment.all_objects.filter(pk=foreign_file.pk).exists()
    reply.refresh_from_db()
    assert reply.reply_to is None
    # conversations stay; the one left empty loses its preview
    old_conversation.refresh_from_db()
    assert old_conversation.last_message_preview == "" and Conversation.all_objects.filter(tenant=acme).count() == 2
    [entry] = AuditEntry.all_objects.filter(action=AuditAction.RETENTION_APPLIED)
    assert entry.tenant == acme and entry.actor is None
    assert entry.details == {"messages": 2, "attachments": 3, "files": 3, "message_retention_days": 90,
                             "attachment_retention_days": 30}

    assert messages_retention_apply_task() == {"acme": {"messages": 0, "attachments": 0, "files": 0}}


def test_the_task_works_in_batches(acme: Any) -> None:
    acme.message_retention_days = 10
    acme.save()
    conversation = factories.ConversationFactory(tenant=acme)
    for _ in range(7):
        _message(conversation, days=20)

    report = tenant_retention_apply(tenant=acme, batch=3)

    assert report.messages == 7 and not Message.all_objects.filter(tenant=acme).exists()


def test_the_task_is_on_the_beat_schedule() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["purge-messages"]
    assert entry["task"] == messages_retention_apply_task.name and entry["schedule"] > 0


def test_an_admin_sets_the_retention_on_the_privacy_page_and_sees_the_last_run(acme: Any, member: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN)
    client = page(admin)

    shown = client.get("/settings/privacy/")
    assert shown.status_code == 200 and "/settings/privacy/" in shown.content.decode()
    saved = client.post("/settings/privacy/", {"message_retention_days": "365", "attachment_retention_days": ""})

    assert saved.status_code == 302
    acme.refresh_from_db()
    assert (acme.message_retention_days, acme.attachment_retention_days) == (365, None)
    [entry] = AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.SETTINGS_CHANGED)
    assert entry.actor == admin.user and entry.details == {"message_retention_days": {"from": None, "to": 365}}

    _message(factories.ConversationFactory(tenant=acme), days=400)
    _message(factories.ConversationFactory(tenant=acme), days=500)
    tenant_retention_apply(tenant=acme)
    last_run = client.get("/settings/privacy/").content.decode()
    assert "2 mensagens excluídas" in last_run

    bad = client.post("/settings/privacy/", {"message_retention_days": "-3", "attachment_retention_days": "x"})
    forever = client.post("/settings/privacy/", {"message_retention_days": "0", "attachment_retention_days": ""})
    acme.refresh_from_db()
    assert bad.status_code == 400 and forever.status_code == 302 and acme.message_retention_days is None


def test_agents_and_managers_do_not_change_the_retention(acme: Any, member: Any) -> None:
    for role in (Role.AGENT, Role.MANAGER):
        client = page(member(acme, role))
        response = client.post("/settings/privacy/", {"message_retention_days": "1"})
        assert response.status_code == 403
        assert "/settings/privacy/" not in client.get("/settings/security/").content.decode()
    acme.refresh_from_db()
    assert acme.message_retention_days is None
    assert not AuditEntry.all_objects.filter(action=AuditAction.SETTINGS_CHANGED).exists()
