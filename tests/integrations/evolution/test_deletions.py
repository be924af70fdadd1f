"""A message the contact deleted for everyone (Evolution's messages.delete; the connection
service's Baileys revoke): marked deleted in the thread, its content kept for tenant admins only,
the open thread told live (message.updated), once, and nothing else moved."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from config.crypto import Secrets
from conversations.models import Conversation, Message
from integrations.models import WebhookEvent
from tests import factories
from tests.factories import PASSWORD
from tests.integrations.evolution.conftest import fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db

DELETED_ID = "A5B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5"  # webhook-messages-delete.json's, and the text fixture's
CONTENT = "Hi, is my order shipped?"


def _text(message_id: str, text: str, seconds_ago: int) -> bytes:
    payload = fixture_json("webhook-messages-upsert-text.json")
    payload["data"]["key"]["id"] = message_id
    payload["data"]["message"] = {"conversation": text}
    payload["data"]["messageTimestamp"] = int(time.time()) - seconds_ago
    return json.dumps(payload).encode()


@pytest.fixture
def received(evolution_channel, post_webhook, django_capture_on_commit_callbacks):
    """The customer's text (webhook-messages-upsert-text.json), written two minutes ago, stored."""
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, _text(DELETED_ID, CONTENT, 120))
    return Message.all_objects.get(provider_message_id=DELETED_ID)


def _login(membership) -> Client:
    client = Client()
    assert client.post("/login/", {"email": membership.user.email, "password": PASSWORD}).status_code == 302
    return client


def test_a_message_the_contact_deleted_is_marked_once_and_nothing_else_moves(
        received, evolution_channel, post_webhook, django_capture_on_commit_callbacks, events):
    conversation = Conversation.all_objects.get()
    assert conversation.last_message_preview == CONTENT
    before = Conversation.all_objects.filter(pk=conversation.pk).values(
        "status", "last_activity_at", "unread_count", "last_inbound_at").get()
    events.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json")).status_code == 200
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))  # delivered again

    assert set(WebhookEvent.all_objects.values_list("status", "error")) == {(WebhookEvent.Status.PROCESSED, "")}
    message = Message.all_objects.get(pk=received.pk)
    assert message.deleted_at is not None
    assert (message.content, message.status, message.type) == (CONTENT, received.status, received.type)  # kept
    (event,) = events
    assert (event.name, event.message_id, event.changed) == ("message.updated", str(message.public_id),
                                                              ("deleted_at",))
    assert event.conversation_id == str(conversation.public_id)
    after = Conversation.all_objects.filter(pk=conversation.pk).values(
        "status", "last_activity_at", "unread_count", "last_inbound_at").get()
    assert after == before
    assert Conversation.all_objects.get().last_message_preview == ""  # the list no longer quotes it


def test_only_that_channels_message_is_marked(received, evolution_channel, post_webhook, globex,
                                              django_capture_on_commit_callbacks):
    elsewhere = factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution")
    theirs = factories.MessageFactory(conversation=factories.ConversationFactory(tenant=globex, channel=elsewhere),
                                      provider_message_id=DELETED_ID)
    neighbour = factories.MessageFactory(conversation=received.conversation, provider_message_id="A5OTHER")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))

    assert Message.all_objects.get(pk=received.pk).deleted_at is not None
    assert Message.all_objects.get(pk=theirs.pk).deleted_at is None
    assert Message.all_objects.get(pk=neighbour.pk).deleted_at is None


def test_a_deletion_of_a_message_never_stored_is_harmless(evolution_channel, post_webhook,
                                                         django_capture_on_commit_callbacks, events):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))

    assert set(WebhookEvent.all_objects.values_list("status", "error")) == {(WebhookEvent.Status.PROCESSED, "")}
    assert events == []


def test_an_older_message_deleted_leaves_the_lists_preview(received, evolution_channel, post_webhook,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, _text("A5NEWER", "Still there?", 60))
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))

    assert Conversation.all_objects.get().last_message_preview == "Still there?"


def test_agents_see_the_mark_and_admins_the_content_too(received, evolution_channel, post_webhook, member,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))
    agent = _login(member(evolution_channel.tenant, Role.AGENT, channels=(evolution_channel,)))
    manager = _login(member(evolution_channel.tenant, Role.MANAGER))
    admin = _login(member(evolution_channel.tenant, Role.TENANT_ADMIN))
    conversation = received.conversation

    for client in (agent, manager):
        bubble = client.get(f"/inbox/messages/{received.public_id}/").content.decode()
        thread = client.get(f"/inbox/c/{conversation.public_id}/thread/").content.decode()
        for page in (bubble, thread):
            assert "Mensagem apagada pelo contato" in page
            assert CONTENT not in page
    bubble = admin.get(f"/inbox/messages/{received.public_id}/").content.decode()
    assert "Mensagem apagada pelo contato" in bubble and CONTENT in bubble
    admin.post("/account/language", {"language": "en", "next": "/inbox/"})
    assert "Message deleted by the contact" in admin.get(f"/inbox/messages/{received.public_id}/").content.decode()


def test_the_api_keeps_the_content_for_admins_only(received, evolution_channel, post_webhook, member, api,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))
    url = f"/api/v1/conversations/{received.conversation.public_id}/messages"

    as_agent = api(member(evolution_channel.tenant, Role.AGENT, channels=(evolution_channel,))).get(url).json()
    as_admin = api(member(evolution_channel.tenant, Role.TENANT_ADMIN)).get(url).json()

    (seen_by_agent,) = as_agent["results"]
    (seen_by_admin,) = as_admin["results"]
    assert seen_by_agent["deleted_at"] and seen_by_agent["content"] == ""
    assert seen_by_admin["deleted_at"] == seen_by_agent["deleted_at"] and seen_by_admin["content"] == CONTENT


def test_the_connection_services_revoke_marks_the_message(acme, client, django_capture_on_commit_callbacks):
    from tests.integrations.baileys_service.conftest import SECRET, signature_for
    from tests.integrations.baileys_service.conftest import fixture_bytes as service_fixture

    gateway = factories.ChannelFactory(tenant=acme, kind="whatsapp_gateway", status="CONNECTED",
                                       config={"session_id": "inbox-test-session"},
                                       credentials=Secrets({"webhook_secret": SECRET}))
    conversation = factories.ConversationFactory(tenant=acme, channel=gateway, last_inbound_at=timezone.now())
    message = factories.MessageFactory(conversation=conversation, provider_message_id=DELETED_ID, content=CONTENT)
    body = service_fixture("messages-update-revoke.json")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic("POST", f"/webhooks/whatsapp_gateway/{gateway.webhook_token}", body,
                                  content_type="application/json",
                                  HTTP_X_WEBHOOK_SIGNATURE=signature_for(body, SECRET))

    assert response.status_code == 200
    assert set(WebhookEvent.all_objects.values_list("status", "error")) == {(WebhookEvent.Status.PROCESSED, "")}
    message.refresh_from_db()
    assert message.deleted_at is not None and message.status == Message.Status.DELIVERED


def test_a_message_deleted_through_evolutions_api_is_read_by_its_whatsapp_id():
    """What Evolution posts when its own API deleted a message (whatsapp.baileys.service.ts
    deleteMessage): its stored row, the WhatsApp id inside `key`, `id` being its database's."""
    from integrations.evolution.events import webhook_batch

    payload = fixture_json("webhook-messages-delete.json")
    payload["data"] = {"id": "cmFAKE0000000000000000000", "instanceId": payload["data"].get("instanceId"),
                       "key": {**payload["data"], "fromMe": True}, "messageType": "conversation",
                       "status": "DELETED", "source": "web", "messageTimestamp": 1750000000,
                       "pushName": "Você", "participant": None, "message": {"conversation": "Oops"}}

    (updates,) = webhook_batch(json.dumps(payload).encode()).updates

    assert [deletion.provider_message_id for deletion in updates.deletions] == [DELETED_ID]


def test_its_file_and_its_words_are_out_of_an_agents_reach(received, evolution_channel, post_webhook, member,
                                                           django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    from conversations.models import Attachment

    photo = Attachment.all_objects.create(tenant=evolution_channel.tenant, message=received, file_name="p.txt",
                                          file=ContentFile(b"plain words", name="p.txt"), content_type="text/plain")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-delete.json"))
    agent = _login(member(evolution_channel.tenant, Role.AGENT, channels=(evolution_channel,)))
    admin = _login(member(evolution_channel.tenant, Role.TENANT_ADMIN))

    assert agent.get(f"/inbox/attachments/{photo.public_id}/").status_code == 404
    assert admin.get(f"/inbox/attachments/{photo.public_id}/").status_code == 200
    found_by_agent = agent.get("/inbox/rows/", {"tab": "all", "q": "order shipped"}).content.decode()
    found_by_admin = admin.get("/inbox/rows/", {"tab": "all", "q": "order shipped"}).content.decode()
    assert str(received.conversation.public_id) not in found_by_agent
    assert str(received.conversation.public_id) in found_by_admin
