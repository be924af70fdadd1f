"""message_statuses_advance: a batch of provider statuses, each message written once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Message
from conversations.services import message_statuses_advance
from tenants.models import TenantEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _sent(conversation, wamid: str) -> Message:
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, status=Message.Status.SENT,
                                    provider_message_id=wamid)


def _locked(*messages):
    return {message.pk: message for message in Message.all_objects.select_for_update().filter(
        pk__in=[message.pk for message in messages])}


def test_a_batch_moves_each_message_forward_only_and_publishes_each_change(acme, events,
                                                                          django_capture_on_commit_callbacks):
    conversation = factories.ConversationFactory(tenant=acme)
    first, second, third = (_sent(conversation, f"wamid.{n}") for n in range(3))
    Message.all_objects.filter(pk=third.pk).update(status=Message.Status.READ)
    at = timezone.now() - timedelta(minutes=1)

    with django_capture_on_commit_callbacks(execute=True):
        rows = _locked(first, second, third)
        changed = message_statuses_advance([
            (rows[first.pk], Message.Status.DELIVERED, "", "", at),
            (rows[first.pk], Message.Status.READ, "", "", at + timedelta(seconds=5)),
            (rows[first.pk], Message.Status.DELIVERED, "", "", at + timedelta(seconds=9)),  # late: ignored
            (rows[second.pk], Message.Status.FAILED, "131026", "Message undeliverable.", at),  # failed after sent
            (rows[second.pk], Message.Status.SENT, "", "", at),                            # a late "sent": no
            (rows[third.pk], Message.Status.DELIVERED, "", "", at),                          # read stays read
        ])

    assert changed == 3
    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (first.status, first.delivered_at, first.read_at) == (Message.Status.READ, at, at + timedelta(seconds=5))
    assert (second.status, second.error_code, second.error_message) == (
        Message.Status.FAILED, "131026", "Message undeliverable.")
    assert third.status == Message.Status.READ and third.delivered_at is None
    published = [(event.message_id, event.status) for event in events if event.name == "message.status_changed"]
    assert published == [(first.pk, "DELIVERED"), (first.pk, "READ"), (second.pk, "FAILED")]
    assert TenantEvent.all_objects.filter(name="message.status_changed").count() == 3


def test_nothing_forward_writes_nothing(acme):
    message = _sent(factories.ConversationFactory(tenant=acme), "wamid.x")
    assert message_statuses_advance([(_locked(message)[message.pk], Message.Status.SENT, "", "", None)]) == 0
    assert not TenantEvent.all_objects.filter(name="message.status_changed").exists()
