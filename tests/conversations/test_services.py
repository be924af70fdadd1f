from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from config.errors import PlanLimitExceeded, ValidationFailed
from contacts.models import Contact, ContactIdentity
from conversations.incoming import IncomingMessage
from conversations.models import Conversation, Message
from conversations.services import ServiceWindowClosed, conversation_update, message_receive, message_send
from tenants.models import Tenant, TenantEvent
from tests import factories
from tests.concurrency import at_once, concurrent_writers

pytestmark = pytest.mark.django_db


def _receive(channel, provider_id="wamid.1", sender="5511987654321", **kwargs):
    return message_receive(channel=channel, message=IncomingMessage(
        contact_external_id=sender, provider_message_id=provider_id,
        content=kwargs.pop("content", "Olá, meu pedido não chegou"), contact_name="Maria", contact_phone="+" + sender,
        **kwargs))


def test_first_inbound_message_creates_contact_conversation_and_message(acme, events,
                                                                        django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme)

    with django_capture_on_commit_callbacks(execute=True):
        message, created = _receive(channel)

    assert created
    conversation = message.conversation
    assert conversation.contact.name == "Maria" and conversation.contact.phone == "+5511987654321"
    assert conversation.unread_count == 1
    assert conversation.last_inbound_at == message.created_at
    assert conversation.last_message_preview == "Olá, meu pedido não chegou"
    assert [event.name for event in events] == ["contact.created", "conversation.created", "message.created"]
    assert events[-1].message_pk == message.pk and events[-1].tenant_pk == acme.pk
    assert events[-1].message_id == str(message.public_id)
    assert events[-1].conversation_id == str(conversation.public_id)
    logged = list(TenantEvent.all_objects.filter(tenant=acme).values_list("public_id", "name", "conversation_id"))
    assert logged == [(UUID(e.event_id), e.name, getattr(e, "conversation_pk", None)) for e in events]
    recorded = TenantEvent.all_objects.get(tenant=acme, name="message.created").payload
    assert recorded == {"message_id": str(message.public_id), "conversation_id": str(conversation.public_id),
                        "channel_id": str(channel.public_id), "direction": "INBOUND", "private": False,
                        "has_media": False}  # public ids only: no *_pk, no tenant


def test_duplicate_webhook_creates_one_message(acme, events, django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme)

    with django_capture_on_commit_callbacks(execute=True):
        first, first_created = _receive(channel)
        again, again_created = _receive(channel)

    assert first_created and not again_created
    assert again.pk == first.pk
    assert Message.all_objects.filter(channel=channel).count() == 1
    assert [event.name for event in events].count("message.created") == 1
    assert Conversation.all_objects.get().unread_count == 1


def test_same_provider_id_on_two_channels_is_two_messages(acme):
    first, _ = _receive(factories.ChannelFactory(tenant=acme))
    second, _ = _receive(factories.ChannelFactory(tenant=acme))

    assert first.pk != second.pk


@concurrent_writers
@pytest.mark.parametrize("round_", range(6))
def test_concurrent_duplicates_create_one_message_and_one_conversation(round_):
    """Six deliveries of two messages from a new sender at once: some find the sender's
    conversation open (it was committed meanwhile), others made the contact; they lock in one
    order (one in eight such rounds used to end in a deadlock)."""
    tenant = factories.TenantFactory()
    channel = factories.ChannelFactory(tenant=tenant)
    results = at_once([lambda n=n: _receive(channel, provider_id=f"wamid.{n % 2}") for n in range(6)])

    assert Message.all_objects.filter(channel=channel).count() == 2
    assert sum(created for _, created in results) == 2
    assert Conversation.all_objects.filter(channel=channel).count() == 1
    assert ContactIdentity.all_objects.filter(channel=channel).count() == 1
    assert Contact.all_objects.filter(tenant=tenant).count() == 1
    assert Conversation.all_objects.get(channel=channel).unread_count == 2


def test_inbound_reopens_a_resolved_conversation(acme, events, django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme)
    first, _ = _receive(channel, provider_id="a")
    Conversation.all_objects.filter(pk=first.conversation_id).update(status=Conversation.Status.RESOLVED)

    with django_capture_on_commit_callbacks(execute=True):
        second, _ = _receive(channel, provider_id="b")

    assert second.conversation_id == first.conversation_id
    assert Conversation.all_objects.get(pk=first.conversation_id).status == Conversation.Status.OPEN
    changed = [event for event in events if event.name == "conversation.status_changed"]
    assert [(e.old_status, e.new_status) for e in changed] == [("RESOLVED", "OPEN")]


def test_events_are_not_published_when_the_transaction_rolls_back(acme, events,
                                                                  django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                _receive(channel)
                raise RuntimeError("boom")

    assert callbacks == []
    assert events == []
    assert Message.all_objects.count() == 0
    assert TenantEvent.all_objects.count() == 0  # the log is written with the change, or not at all


def test_reply_is_pending_and_publishes_message_created(acme, member, events, django_capture_on_commit_callbacks):
    agent = member(acme, Role.AGENT)
    # a kind with a provider (the factory's default has none: its replies fail at once)
    conversation = factories.ConversationFactory(tenant=acme, channel=factories.ChannelFactory(tenant=acme, kind="api"))

    with django_capture_on_commit_callbacks(execute=True):
        message, created = message_send(conversation=conversation, actor=agent.user, content="Vou verificar!")

    assert created and message.status == Message.Status.PENDING
    assert message.direction == Message.Direction.OUTBOUND and message.sender_user == agent.user
    created_events = [event for event in events if event.name == "message.created"]
    assert [(e.name, e.message_pk, e.message_id, e.private) for e in created_events] == [
        ("message.created", message.pk, str(message.public_id), False)]
    acme.refresh_from_db()
    assert acme.messages_this_month == 1


def test_private_note_is_not_sent_and_not_counted(acme, member):
    agent = member(acme, Role.AGENT)
    conversation = factories.ConversationFactory(tenant=acme, last_message_preview="antes")

    note, _ = message_send(conversation=conversation, actor=agent.user, content="cliente VIP", private=True)

    assert note.private and note.status == Message.Status.SENT
    conversation.refresh_from_db()
    assert conversation.last_message_preview == "antes"
    acme.refresh_from_db()
    assert acme.messages_this_month == 0


def test_reply_with_the_same_external_id_is_created_once(acme, member):
    agent = member(acme, Role.AGENT)
    conversation = factories.ConversationFactory(tenant=acme)

    first, created = message_send(conversation=conversation, actor=agent.user, content="oi", external_id="crm-7")
    again, created_again = message_send(conversation=conversation, actor=agent.user, content="oi",
                                        external_id="crm-7")

    assert created and not created_again and first.pk == again.pk


def test_monthly_message_limit_refuses_replies_but_never_inbound(acme, member, django_capture_on_commit_callbacks):
    Tenant.objects.filter(pk=acme.pk).update(max_messages_per_month=1)
    acme.refresh_from_db()
    agent = member(acme, Role.AGENT)
    channel = factories.ChannelFactory(tenant=acme)
    with django_capture_on_commit_callbacks(execute=True):  # usage is counted once a message commits
        message, _ = _receive(channel, provider_id="in-1")

    with pytest.raises(PlanLimitExceeded) as refused:
        message_send(conversation=message.conversation, actor=agent.user, content="oi")
    _receive(channel, provider_id="in-2")

    assert refused.value.details == {"resource": "messages", "limit": 1, "usage": 1}
    assert Message.all_objects.filter(direction=Message.Direction.INBOUND).count() == 2


def test_status_assignment_and_labels_each_publish_their_event(acme, member, events,
                                                               django_capture_on_commit_callbacks):
    manager = member(acme, Role.MANAGER)
    conversation = factories.ConversationFactory(tenant=acme)

    with django_capture_on_commit_callbacks(execute=True):
        conversation_update(conversation=conversation, actor=manager.user, status=Conversation.Status.PENDING,
                            assignee=manager.user, labels=["vip", "VIP", "financeiro"], priority="HIGH")

    names = [event.name for event in events]
    assert names == ["conversation.status_changed", "conversation.assigned", "conversation.updated"]
    assert events[1].assignee_id == str(manager.user.public_id) and events[1].previous_assignee_id is None
    assert set(events[2].changed) == {"priority", "labels"}
    assert sorted(conversation.labels.values_list("name", flat=True)) == ["financeiro", "vip"]


def test_an_update_that_changes_nothing_publishes_nothing(acme, member, events, django_capture_on_commit_callbacks):
    manager = member(acme, Role.MANAGER)
    conversation = factories.ConversationFactory(tenant=acme)

    with django_capture_on_commit_callbacks(execute=True):
        conversation_update(conversation=conversation, actor=manager.user, status=Conversation.Status.OPEN,
                            labels=[])

    assert events == []


def test_snooze_needs_a_future_time_and_reopening_clears_it(acme, member):
    manager = member(acme, Role.MANAGER)
    conversation = factories.ConversationFactory(tenant=acme)
    until = timezone.now() + timedelta(hours=3)

    with pytest.raises(ValidationFailed):
        conversation_update(conversation=conversation, actor=manager.user, status=Conversation.Status.SNOOZED)
    conversation_update(conversation=conversation, actor=manager.user, snoozed_until=until)
    assert (conversation.status, conversation.snoozed_until) == (Conversation.Status.SNOOZED, until)
    conversation_update(conversation=conversation, actor=manager.user, status=Conversation.Status.OPEN)
    assert conversation.snoozed_until is None


def test_viewer_cannot_be_assigned(acme, member):
    manager = member(acme, Role.MANAGER)
    viewer = member(acme, Role.VIEWER)
    conversation = factories.ConversationFactory(tenant=acme)

    with pytest.raises(ValidationFailed):
        conversation_update(conversation=conversation, actor=manager.user, assignee=viewer.user)


def test_a_reply_right_after_an_inbound_message_is_inside_the_window(acme, member):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    agent = member(acme, Role.AGENT, channels=(channel,))
    message, _ = _receive(channel)

    reply, created = message_send(conversation=message.conversation, actor=agent.user, content="Oi! Já vejo.")

    assert created and reply.status == Message.Status.PENDING


def test_a_free_reply_after_the_window_is_refused(acme, member):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    agent = member(acme, Role.AGENT, channels=(channel,))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel,
                                                 last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1))

    with pytest.raises(ServiceWindowClosed) as refused:
        message_send(conversation=conversation, actor=agent.user, content="oi")
    note, _ = message_send(conversation=conversation, actor=agent.user, content="mandar template", private=True)

    assert refused.value.status_code == 422 and refused.value.code == "service_window_closed"
    assert note.private
