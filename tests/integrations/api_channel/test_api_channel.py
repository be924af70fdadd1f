from __future__ import annotations

import pytest

from accounts.models import Role
from conversations.models import Conversation, Message
from conversations.services import message_send, message_status_update
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_channel(acme):
    return factories.ChannelFactory(tenant=acme, kind="api", name="CRM")


def _deliver(client, channel, **overrides):
    body = {"contact": {"external_id": "crm-contact-1", "name": "Bruna Costa", "phone": "11 99876-5432"},
            "content": "Quero trocar o tamanho", "external_id": "crm-msg-1", **overrides}
    return client.post(f"/api/v1/channels/{channel.public_id}/messages", body, format="json")


def test_integrator_delivers_a_contacts_message(acme, member, api, api_channel, events,
                                                django_capture_on_commit_callbacks):
    client = api(member(acme, Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        response = _deliver(client, api_channel)

    assert response.status_code == 201, response.content
    message = Message.all_objects.get(public_id=response.json()["id"])
    assert message.direction == Message.Direction.INBOUND and message.content == "Quero trocar o tamanho"
    assert message.conversation.contact.phone == "+5511998765432"
    assert "message.created" in [event.name for event in events]


def test_delivering_the_same_external_id_twice_stores_one_message(acme, member, api, api_channel):
    client = api(member(acme, Role.MANAGER))

    first = _deliver(client, api_channel)
    again = _deliver(client, api_channel)
    other = _deliver(client, api_channel, external_id="crm-msg-2", content="Outra coisa")
    anonymous = _deliver(client, api_channel, external_id=None)

    assert (first.status_code, again.status_code, other.status_code, anonymous.status_code) == (201, 200, 201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Message.all_objects.filter(channel=api_channel).count() == 3
    assert Conversation.all_objects.filter(channel=api_channel).count() == 1


def test_only_api_channels_take_messages_and_only_in_their_tenant(acme, globex, member, api, api_channel):
    whatsapp = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    manager = api(member(acme, Role.MANAGER))

    not_api = _deliver(manager, whatsapp)
    foreign = _deliver(api(member(globex, Role.TENANT_ADMIN)), api_channel)
    agent = _deliver(api(member(acme, Role.AGENT, channels=(api_channel,))), api_channel)
    bad = _deliver(manager, api_channel, contact={"name": "sem id"})

    assert not_api.status_code == 409 and not_api.json()["error"]["code"] == "channel_not_api"
    assert foreign.status_code == 404
    assert agent.status_code == 403
    assert bad.status_code == 400 and "contact" in bad.json()["error"]["details"]
    assert Message.all_objects.count() == 0


def test_agents_reply_on_an_api_channel_is_sent_as_an_event(acme, member, api_channel, events,
                                                            django_capture_on_commit_callbacks):
    agent = member(acme, Role.AGENT, channels=(api_channel,))
    conversation = factories.ConversationFactory(tenant=acme, channel=api_channel)

    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = message_send(conversation=conversation, actor=agent.user, content="Claro, qual tamanho?")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT and reply.sent_at is not None
    assert [event.name for event in events] == ["message.created", "message.status_changed"]


def test_delivery_status_never_moves_backwards(acme, member):
    conversation = factories.ConversationFactory(tenant=acme)
    message = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                       sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING)

    steps = [message_status_update(message=message, status=status)
             for status in ("READ", "DELIVERED", "SENT", "FAILED", "READ")]

    message.refresh_from_db()
    assert steps == [True, False, False, False, False]
    assert message.status == "READ" and message.sent_at and message.delivered_at and message.read_at


def test_failed_then_delivered_is_delivered(acme):
    conversation = factories.ConversationFactory(tenant=acme)
    message = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                       status=Message.Status.PENDING)

    assert message_status_update(message=message, status="FAILED", error_code="131047", error_message="window")
    assert message_status_update(message=message, status="DELIVERED")
    message.refresh_from_db()
    assert message.status == "DELIVERED"
