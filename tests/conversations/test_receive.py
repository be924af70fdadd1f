"""messages_receive: the one receive path. A provider's batch has the outcome of its messages
one at a time, in a few statements whatever its size; message_receive is its one-message case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from conversations.incoming import ChannelInbound, IncomingMessage, IncomingStatus
from conversations.models import Conversation, Message
from conversations.services import message_receive, messages_receive
from tenants.models import Tenant, TenantEvent
from tests import factories
from tests.concurrency import at_once, concurrent_writers

pytestmark = pytest.mark.django_db


def _item(provider_id: str, sender: str = "5511987654321", **kwargs) -> IncomingMessage:
    return IncomingMessage(contact_external_id=sender, provider_message_id=provider_id, content=f"texto {provider_id}",
                           contact_name="Maria", contact_phone="+" + sender, **kwargs)


def message_receive_many(*, channel, messages):
    """The batch path for one channel, as (message, created) pairs."""
    (received,) = messages_receive(inbound=[ChannelInbound(channel=channel, messages=messages)])
    return [(item.message, item.created) for item in received.messages]


def _usage(tenant) -> int:
    return Tenant.objects.get(pk=tenant.pk).messages_this_month


def test_a_mixed_batch_has_the_outcome_of_one_message_at_a_time(acme, events, django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme)
    first, _ = message_receive(channel=channel, message=_item("wamid.0"))
    snoozed, _ = message_receive(channel=channel, message=_item("wamid.s0", sender="5511900000002"))
    Conversation.all_objects.filter(pk=snoozed.conversation_id).update(
        status=Conversation.Status.SNOOZED, snoozed_until=timezone.now() + timedelta(days=1))
    usage = _usage(acme)
    base = timezone.now()
    batch = [
        _item("wamid.1", sent_at=base),
        _item("wamid.new", sender="5511900000001", sent_at=base),               # a new contact
        _item("wamid.2", sent_at=base + timedelta(seconds=2), reply_to_provider_id="wamid.0"),
        _item("wamid.1", sent_at=base),                                         # repeated in the batch
        _item("wamid.0"),                                                       # stored before
        _item("wamid.s1", sender="5511900000002", sent_at=base),                # to a snoozed conversation
    ]

    with django_capture_on_commit_callbacks(execute=True):
        results = message_receive_many(channel=channel, messages=batch)

    assert [created for _, created in results] == [True, True, True, False, False, True]
    assert results[3][0].pk == results[0][0].pk and results[4][0].pk == first.pk
    assert Message.all_objects.filter(channel=channel).count() == 6
    conversation = Conversation.all_objects.get(pk=first.conversation_id)
    assert conversation.unread_count == 3
    assert conversation.last_message_preview == "texto wamid.2"
    assert conversation.last_inbound_at == conversation.last_activity_at == base + timedelta(seconds=2)
    assert results[2][0].reply_to_id == first.pk
    assert Conversation.all_objects.get(pk=snoozed.conversation_id).status == Conversation.Status.OPEN
    assert Contact.all_objects.filter(tenant=acme).count() == 3
    assert _usage(acme) == usage + 4
    created = [event for event in events if event.name == "message.created"]
    assert sorted(event.message_pk for event in created) == sorted(
        message.pk for message, was_created in results if was_created)
    assert sorted(event.message_id for event in created) == sorted(
        str(message.public_id) for message, was_created in results if was_created)
    assert {event.conversation_id for event in created if event.conversation_pk == conversation.pk} == {
        str(conversation.public_id)}
    assert all(event.event_id for event in created)
    assert TenantEvent.all_objects.filter(name="message.created").count() == 6


def test_a_late_delivery_does_not_move_the_conversation_back(acme):
    channel = factories.ChannelFactory(tenant=acme)
    newest, _ = message_receive(channel=channel, message=_item("wamid.new"))

    message_receive_many(channel=channel, messages=[_item("wamid.old", sent_at=newest.created_at - timedelta(hours=1))])

    conversation = Conversation.all_objects.get(pk=newest.conversation_id)
    assert conversation.last_activity_at == newest.created_at
    assert conversation.last_message_preview == "texto wamid.new"
    assert conversation.last_inbound_at == newest.created_at
    assert conversation.unread_count == 2


def test_a_new_conversation_starts_at_its_first_message_and_quotes_the_newest(acme):
    """A provider dates messages to the second, before they reach us: a new conversation made
    "now" was newer than its own messages, which then neither dated nor previewed it."""
    channel = factories.ChannelFactory(tenant=acme)
    written = timezone.now().replace(microsecond=0) - timedelta(seconds=3)

    message_receive_many(channel=channel, messages=[_item("wamid.first", sent_at=written),
                                                    _item("wamid.second", sent_at=written + timedelta(seconds=1))])

    conversation = Conversation.all_objects.get()
    assert conversation.last_activity_at == written + timedelta(seconds=1)
    assert conversation.last_message_preview == "texto wamid.second"
    assert conversation.last_inbound_at == written + timedelta(seconds=1)


def test_statements_do_not_grow_with_the_batch(acme):
    channel = factories.ChannelFactory(tenant=acme)
    senders = [f"55119000000{n:02d}" for n in range(30)]
    message_receive_many(channel=channel, messages=[_item(f"warm.{s}", sender=s) for s in senders])

    def statements(size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            message_receive_many(channel=channel, messages=[_item(f"wamid.{size}.{s}", sender=s)
                                                            for s in senders[:size]])
        return len(queries)

    few, many = statements(3), statements(30)
    assert few == many or connection.vendor != "postgresql" and many - few == 27  # SQLite: an UPDATE each


@concurrent_writers
def test_concurrent_batches_with_the_same_messages_store_each_once():
    tenant = factories.TenantFactory()
    channel = factories.ChannelFactory(tenant=tenant)
    for sender in ("5511900000001", "5511900000002"):
        message_receive(channel=channel, message=_item(f"warm.{sender}", sender=sender))
    batch = [_item(f"wamid.{n}", sender=f"551190000000{1 + n % 2}") for n in range(10)]
    answers = at_once([lambda: message_receive_many(channel=channel, messages=batch)] * 4)
    created = [was_created for answer in answers for _, was_created in answer]

    assert Message.all_objects.filter(channel=channel).count() == 12
    assert sum(created) == 10
    assert sorted(Conversation.all_objects.filter(channel=channel).values_list("unread_count", flat=True)) == [6, 6]


def test_one_batch_takes_several_channels_and_their_statuses(acme, events, django_capture_on_commit_callbacks):
    first, second = factories.ChannelFactory(tenant=acme), factories.ChannelFactory(tenant=acme)
    reply = factories.MessageFactory(conversation=factories.ConversationFactory(tenant=acme, channel=second),
                                     direction=Message.Direction.OUTBOUND, sender_type=Message.SenderType.AGENT,
                                     status=Message.Status.SENT, provider_message_id="wamid.out")
    usage = _usage(acme)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = messages_receive(inbound=[
            ChannelInbound(channel=second, messages=[_item("wamid.b")],
                           statuses=[IncomingStatus(provider_message_id="wamid.out", status="DELIVERED"),
                                     IncomingStatus(provider_message_id="wamid.nobody", status="READ")]),
            ChannelInbound(channel=first, messages=[_item("wamid.a"), _item("wamid.a2")]),
        ])

    assert [len(outcome.messages) for outcome in outcomes] == [1, 2]
    assert [status.provider_message_id for status in outcomes[0].unknown_statuses] == ["wamid.nobody"]
    assert outcomes[1].unknown_statuses == []
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.DELIVERED
    assert _usage(acme) == usage + 3
    assert [event.name for event in events].count("message.created") == 3
    assert [event.status for event in events if event.name == "message.status_changed"] == ["DELIVERED"]


def test_message_receive_is_the_batch_of_one(acme, django_assert_num_queries):
    channel = factories.ChannelFactory(tenant=acme)
    message_receive(channel=channel, message=_item("wamid.first"))  # the contact and conversation exist now

    with CaptureQueriesContext(connection) as one:
        message, created = message_receive(channel=channel, message=_item("wamid.second"))
    with CaptureQueriesContext(connection) as batch:
        message_receive_many(channel=channel, messages=[_item("wamid.third")])

    assert created and message.conversation.channel_id == channel.pk
    assert len(one) == len(batch)


def _interrupted_reply(channel, **fields) -> Message:
    """A reply whose sender handed it to the provider and died before recording its answer."""
    conversation = factories.ConversationFactory(tenant=channel.tenant, channel=channel)
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, **fields)


@pytest.mark.parametrize("as_left", [
    {"status": Message.Status.PENDING},  # its sender died mid-send: the claim has not run out yet
    {"status": Message.Status.FAILED, "error_code": "delivery_unknown"},  # ... and it ran out
])
def test_a_status_that_echoes_our_id_confirms_an_interrupted_reply(acme, events, django_capture_on_commit_callbacks,
                                                                   as_left):
    channel = factories.ChannelFactory(tenant=acme)
    reply = _interrupted_reply(channel, send_lease_until=timezone.now() + timedelta(minutes=1), **as_left)
    sent_at = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = messages_receive(inbound=[ChannelInbound(channel=channel, statuses=[
            IncomingStatus(provider_message_id="wamid.OUT-1", status="SENT", at=sent_at,
                           reference=str(reply.public_id)),
            IncomingStatus(provider_message_id="wamid.OUT-1", status="DELIVERED", reference=str(reply.public_id)),
        ])])

    reply.refresh_from_db()
    assert outcome.unknown_statuses == []
    assert reply.status == Message.Status.DELIVERED and reply.provider_message_id == "wamid.OUT-1"
    assert reply.sent_at == sent_at and reply.error_code == "" and reply.send_lease_until is None
    assert [(event.message_pk, event.status) for event in events] == [
        (reply.pk, Message.Status.SENT), (reply.pk, Message.Status.DELIVERED)]
    assert {event.message_id for event in events} == {str(reply.public_id)}


def test_our_id_in_a_status_names_only_an_interrupted_reply_of_that_channel(acme):
    channel, other = factories.ChannelFactory(tenant=acme), factories.ChannelFactory(tenant=acme)
    elsewhere = _interrupted_reply(other, status=Message.Status.PENDING,  # another channel's reply
                                   send_lease_until=timezone.now())
    waiting = _interrupted_reply(channel, status=Message.Status.PENDING)  # never handed to the provider
    refused = _interrupted_reply(channel, status=Message.Status.FAILED, error_code="131026")  # the provider said no
    sent = _interrupted_reply(channel, status=Message.Status.SENT, provider_message_id="wamid.KNOWN")
    inbound = factories.MessageFactory(conversation=factories.ConversationFactory(tenant=acme, channel=channel),
                                       status=Message.Status.DELIVERED)
    statuses = [IncomingStatus(provider_message_id=f"wamid.{index}", status="DELIVERED", reference=str(message.public_id))
                for index, message in enumerate((elsewhere, waiting, refused, sent, inbound))]
    statuses.append(IncomingStatus(provider_message_id="wamid.x", status="DELIVERED", reference="order-0001"))

    (outcome,) = messages_receive(inbound=[ChannelInbound(channel=channel, statuses=statuses)])

    assert outcome.unknown_statuses == statuses
    assert [Message.all_objects.get(pk=message.pk).status for message in (elsewhere, waiting, refused, sent)] == [
        Message.Status.PENDING, Message.Status.PENDING, Message.Status.FAILED, Message.Status.SENT]
    assert Message.all_objects.get(pk=sent.pk).provider_message_id == "wamid.KNOWN"


def test_a_status_with_a_known_provider_id_ignores_the_reference(acme):
    channel = factories.ChannelFactory(tenant=acme)
    sent = _interrupted_reply(channel, status=Message.Status.SENT, provider_message_id="wamid.A")
    interrupted = _interrupted_reply(channel, status=Message.Status.PENDING, send_lease_until=timezone.now())

    messages_receive(inbound=[ChannelInbound(channel=channel, statuses=[
        IncomingStatus(provider_message_id="wamid.A", status="READ", reference=str(interrupted.public_id))])])

    assert Message.all_objects.get(pk=sent.pk).status == Message.Status.READ
    assert Message.all_objects.get(pk=interrupted.pk).status == Message.Status.PENDING


def test_statuses_naming_our_ids_take_no_more_statements(acme):
    channel = factories.ChannelFactory(tenant=acme)
    replies = [_interrupted_reply(channel, status=Message.Status.SENT, provider_message_id=f"wamid.{n}")
               for n in range(3)]

    def statements(status: str, *, references: bool) -> int:
        with CaptureQueriesContext(connection) as queries:
            messages_receive(inbound=[ChannelInbound(channel=channel, statuses=[
                IncomingStatus(provider_message_id=reply.provider_message_id, status=status,
                               reference=str(reply.public_id) if references else "") for reply in replies])])
        return len(queries)

    assert statements("DELIVERED", references=False) == statements("READ", references=True)


def test_a_message_sent_from_the_paired_phone_is_outgoing_and_not_the_contacts(acme):
    channel = factories.ChannelFactory(tenant=acme)
    first, _ = message_receive(channel=channel, message=_item("wamid.in"))
    Conversation.all_objects.filter(pk=first.conversation_id).update(status=Conversation.Status.RESOLVED,
                                                                    unread_count=0)

    mine, created = message_receive(channel=channel, message=_item("wamid.phone", from_me=True))

    assert created and mine.conversation_id == first.conversation_id
    assert (mine.direction, mine.sender_type, mine.status) == (
        Message.Direction.OUTBOUND, Message.SenderType.AGENT, Message.Status.SENT)
    conversation = Conversation.all_objects.get(pk=first.conversation_id)
    assert conversation.status == Conversation.Status.RESOLVED and conversation.unread_count == 0
    assert conversation.last_message_preview == "texto wamid.phone"


def test_a_contact_known_by_an_alias_is_one_contact_and_one_conversation(acme):
    """WhatsApp's @lid address and the phone number (or a Brazilian mobile with and without
    its ninth digit) name one person: whichever arrives first, the next finds them."""
    channel = factories.ChannelFactory(tenant=acme)
    by_lid, _ = message_receive(channel=channel, message=_item("m1", sender="123456789012345@lid"))
    by_phone, _ = message_receive(channel=channel, message=_item(
        "m2", sender="5511987654321", contact_aliases=("123456789012345@lid",)))
    without_ninth, _ = message_receive(channel=channel, message=_item(
        "m3", sender="551187654321", contact_aliases=("5511987654321",)))
    lid_again, _ = message_receive(channel=channel, message=_item("m4", sender="123456789012345@lid"))

    assert {by_lid.conversation_id, by_phone.conversation_id, without_ninth.conversation_id,
            lid_again.conversation_id} == {by_lid.conversation_id}
    assert Contact.all_objects.filter(tenant=acme).count() == 1


def test_a_new_contact_gets_its_aliases_so_that_either_address_finds_it(acme):
    channel = factories.ChannelFactory(tenant=acme)
    first, _ = message_receive(channel=channel, message=_item(
        "m1", sender="5511987654321", contact_aliases=("123456789012345@lid",)))
    by_lid, _ = message_receive(channel=channel, message=_item("m2", sender="123456789012345@lid"))

    assert by_lid.conversation_id == first.conversation_id
    assert Contact.all_objects.filter(tenant=acme).count() == 1


def test_a_known_contact_gets_the_aliases_a_later_message_names(acme):
    """Known by their phone first (no alias said then): a later message naming their @lid keeps
    it, so that a message by the @lid alone still finds them."""
    channel = factories.ChannelFactory(tenant=acme)
    first, _ = message_receive(channel=channel, message=_item("m1", sender="5511987654321"))
    message_receive(channel=channel, message=_item("m2", sender="5511987654321",
                                                   contact_aliases=("123456789012345@lid",)))
    by_lid, _ = message_receive(channel=channel, message=_item("m3", sender="123456789012345@lid"))

    assert by_lid.conversation_id == first.conversation_id
    assert Contact.all_objects.filter(tenant=acme).count() == 1
