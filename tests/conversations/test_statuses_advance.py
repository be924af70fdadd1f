"""message_statuses_advance: the one status path. A batch of statuses, each message written
once; a change to a row read earlier applies to the row as it is now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Message
from conversations.services import DELIVERY_UNKNOWN, StatusChange, message_statuses_advance
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
            StatusChange(rows[first.pk], Message.Status.DELIVERED, at=at),
            StatusChange(rows[first.pk], Message.Status.READ, at=at + timedelta(seconds=5)),
            StatusChange(rows[first.pk], Message.Status.DELIVERED, at=at + timedelta(seconds=9)),  # late: ignored
            StatusChange(rows[second.pk], Message.Status.FAILED, at=at, error_code="131026",  # failed after sent
                         error_message="Message undeliverable."),
            StatusChange(rows[second.pk], Message.Status.SENT, at=at),                     # a late "sent": no
            StatusChange(rows[third.pk], Message.Status.DELIVERED, at=at),                   # read stays read
        ])

    assert changed == 3
    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (first.status, first.delivered_at, first.read_at) == (Message.Status.READ, at, at + timedelta(seconds=5))
    assert (second.status, second.error_code, second.error_message) == (
        Message.Status.FAILED, "131026", "Message undeliverable.")
    assert third.status == Message.Status.READ and third.delivered_at is None
    published = [(event.message_pk, event.status) for event in events if event.name == "message.status_changed"]
    assert {(event.message_id, event.conversation_id, event.channel_id) for event in events} == {
        (str(message.public_id), str(conversation.public_id), str(conversation.channel.public_id))
        for message in (first, second)}
    assert published == [(first.pk, "DELIVERED"), (first.pk, "READ"), (second.pk, "FAILED")]
    assert TenantEvent.all_objects.filter(name="message.status_changed").count() == 3


def test_nothing_forward_writes_nothing(acme):
    message = _sent(factories.ConversationFactory(tenant=acme), "wamid.x")
    assert message_statuses_advance([StatusChange(_locked(message)[message.pk], Message.Status.SENT)]) == 0
    assert not TenantEvent.all_objects.filter(name="message.status_changed").exists()


def test_a_change_to_a_row_that_moved_since_it_was_read_applies_to_the_row_as_it_is(acme):
    """The sender records the provider's answer on the reply as it claimed it; should its claim
    have run out meanwhile (FAILED, delivery unknown), the provider's id still makes it SENT."""
    message = factories.MessageFactory(conversation=factories.ConversationFactory(tenant=acme),
                                       direction=Message.Direction.OUTBOUND, sender_type=Message.SenderType.AGENT,
                                       status=Message.Status.PENDING, send_lease_until=timezone.now())
    as_claimed = Message.all_objects.get(pk=message.pk)
    Message.all_objects.filter(pk=message.pk).update(status=Message.Status.FAILED, error_code=DELIVERY_UNKNOWN,
                                                     send_lease_until=None)

    changed = message_statuses_advance([StatusChange(as_claimed, Message.Status.SENT, provider_message_id="wamid.ok")])

    message.refresh_from_db()
    assert changed == 1
    assert (message.status, message.provider_message_id, message.error_code) == (Message.Status.SENT, "wamid.ok", "")


def test_a_stale_change_that_is_no_longer_forward_writes_nothing(acme):
    message = factories.MessageFactory(conversation=factories.ConversationFactory(tenant=acme),
                                       direction=Message.Direction.OUTBOUND, sender_type=Message.SenderType.AGENT,
                                       status=Message.Status.PENDING, send_lease_until=timezone.now())
    as_claimed = Message.all_objects.get(pk=message.pk)
    Message.all_objects.filter(pk=message.pk).update(status=Message.Status.READ, provider_message_id="wamid.r",
                                                     send_lease_until=None)

    assert message_statuses_advance([StatusChange(as_claimed, Message.Status.SENT, provider_message_id="x")]) == 0
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (Message.Status.READ, "wamid.r")


def test_our_failure_text_is_stored_as_written_and_read_in_the_readers_language():
    """Whatever language the worker that recorded it had active: the API reads it in English,
    the inbox in its reader's language; a provider's text stays the provider's."""
    from django.utils import translation

    from conversations.services import failure_text
    from conversations.services.statuses import DELIVERY_UNKNOWN, DELIVERY_UNKNOWN_MESSAGE

    with translation.override("pt-br"):
        stored = DELIVERY_UNKNOWN_MESSAGE
        shown = failure_text(error_code=DELIVERY_UNKNOWN, error_message=stored)
        provider = failure_text(error_code="131047", error_message="Re-engagement message")

    assert "not known whether" in stored
    assert "não se sabe" in shown
    assert provider == "Re-engagement message"
