"""An agent reacts to a contact's message (the API's type REACTION, the thread's picker): the
Cloud API gets a reaction to that message's wamid, not a text; "" takes it back; a channel
that sends no reactions refuses it."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from conversations.models import Message
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbound(conversation):
    return factories.MessageFactory(conversation=conversation, provider_message_id="wamid.IN-REACT")


def test_a_reaction_through_the_api_is_sent_as_a_reaction(graph, conversation, inbound, member, api,
                                                           django_capture_on_commit_callbacks):
    agent = member(conversation.tenant, Role.AGENT, channels=(conversation.channel,))

    with django_capture_on_commit_callbacks(execute=True):
        answer = api(agent).post(f"/api/v1/conversations/{conversation.public_id}/messages",
                                 {"type": "REACTION", "content": "👍", "reply_to_id": str(inbound.public_id)},
                                 format="json")
        taken_back = api(agent).post(f"/api/v1/conversations/{conversation.public_id}/messages",
                                     {"type": "REACTION", "content": "", "reply_to_id": str(inbound.public_id)},
                                     format="json")

    assert answer.status_code == 201 and answer.json()["type"] == "REACTION", answer.content
    bodies = [sent["body"] for sent in graph.sent]
    assert [body["type"] for body in bodies] == ["reaction", "reaction"]
    assert bodies[0]["reaction"] == {"message_id": "wamid.IN-REACT", "emoji": "👍"} and "context" not in bodies[0]
    assert bodies[1]["reaction"]["emoji"] == "" and taken_back.status_code == 201
    sent = Message.all_objects.get(public_id=answer.json()["id"])
    assert sent.status == Message.Status.SENT and sent.content_attributes["reaction"]["emoji"] == "👍"


def test_a_reaction_needs_its_message_and_one_emoji(graph, conversation, inbound, member, api):
    client = api(member(conversation.tenant, Role.AGENT, channels=(conversation.channel,)))
    url = f"/api/v1/conversations/{conversation.public_id}/messages"

    without = client.post(url, {"type": "REACTION", "content": "👍"}, format="json")
    words = client.post(url, {"type": "REACTION", "content": "nice", "reply_to_id": str(inbound.public_id)},
                        format="json")

    assert without.status_code == 422 and "reply_to_id" in without.json()["error"]["details"]
    assert words.status_code == 422 and "content" in words.json()["error"]["details"]
    assert graph.sent == []


def test_a_channel_without_reactions_refuses_them(acme, member, api):
    channel = factories.ChannelFactory(tenant=acme, kind="api")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    target = factories.MessageFactory(conversation=conversation, provider_message_id="api:1")

    answer = api(member(acme, Role.TENANT_ADMIN)).post(
        f"/api/v1/conversations/{conversation.public_id}/messages",
        {"type": "REACTION", "content": "👍", "reply_to_id": str(target.public_id)}, format="json")

    assert answer.status_code == 422 and answer.json()["error"]["code"] == "reactions_not_supported"


def test_the_thread_offers_reactions_and_sends_the_one_picked(graph, conversation, inbound, member,
                                                               django_capture_on_commit_callbacks):
    agent = member(conversation.tenant, Role.AGENT, channels=(conversation.channel,))
    client = Client()
    client.post("/login/", {"email": agent.user.email, "password": PASSWORD})

    page = client.get(f"/inbox/c/{conversation.public_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        bubble = client.post(f"/inbox/messages/{inbound.public_id}/react/", {"emoji": "❤️"})

    assert f'/inbox/messages/{inbound.public_id}/react/' in page
    assert bubble.status_code == 200 and "❤️" in bubble.content.decode()
    assert graph.sent[-1]["body"]["reaction"] == {"message_id": "wamid.IN-REACT", "emoji": "❤️"}
