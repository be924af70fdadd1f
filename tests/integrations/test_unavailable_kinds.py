"""No kind without an adapter: only the kinds a provider serves can be created, and a reply on
a channel of another kind (a row from before, or from an installation with more providers)
fails at once, saying why, instead of waiting for ever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from conversations.models import Message
from integrations.registry import adapter_classes
from integrations.tasks import recover_work
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NOT_SERVED = "zenvia_sms"  # a kind no provider of this installation serves


def test_a_kind_without_an_adapter_cannot_be_created(acme, member, api):
    assert NOT_SERVED not in adapter_classes()
    client = api(member(acme, Role.TENANT_ADMIN))

    answer = client.post("/api/v1/channels", {"kind": NOT_SERVED, "name": "SMS"}, format="json")

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "channel_kind_not_available" and NOT_SERVED in error["message"]
    assert set(error["details"]["kind"][1:] if len(error["details"]["kind"]) > 1 else []) <= set(adapter_classes())


def test_a_reply_on_a_channel_that_cannot_send_fails_at_once_and_says_why(acme, member, api):
    admin = member(acme, Role.TENANT_ADMIN)
    channel = factories.ChannelFactory(tenant=acme, kind=NOT_SERVED)
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    factories.MessageFactory(conversation=conversation)

    answer = api(admin).post(f"/api/v1/conversations/{conversation.public_id}/messages",
                             {"content": "Olá"}, format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "FAILED" and body["error"]["code"] == "channel_kind_not_available"
    assert "not available in this installation" in body["error"]["message"]
    retry = api(admin).post(f"/api/v1/messages/{body['id']}/retry", format="json")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "channel_kind_not_available"

    inbox = Client()
    assert inbox.post("/login/", {"email": admin.user.email, "password": PASSWORD}).status_code == 302
    page = inbox.get(f"/inbox/c/{conversation.public_id}/")  # the tenant's language: pt-BR
    assert "não está disponível nesta instalação" in page.content.decode()
    type(admin.user).objects.filter(pk=admin.user.pk).update(language="en")
    page = inbox.get(f"/inbox/c/{conversation.public_id}/")
    assert "is not available in this installation" in page.content.decode()


def test_replies_left_waiting_on_such_a_channel_are_failed_by_the_sweep(acme, settings):
    channel = factories.ChannelFactory(tenant=acme, kind=NOT_SERVED)
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    waiting = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                       sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                       provider_message_id=None, created_at=timezone.now() - timedelta(minutes=5))

    assert recover_work()["unsendable"] == 1

    waiting.refresh_from_db()
    assert waiting.status == Message.Status.FAILED and waiting.error_code == "channel_kind_not_available"


def test_health_names_only_the_kinds_a_provider_serves(client):
    channels = client.get("/api/health").json()["modules"]["channels"]
    assert set(channels) == set(adapter_classes()) and NOT_SERVED not in channels


def test_django_admin_shows_such_a_channel_as_not_available(acme, admin_client):
    factories.ChannelFactory(tenant=acme, kind=NOT_SERVED, name="Old SMS")

    admin_client.cookies["django_language"] = "en"
    page = admin_client.get("/admin/channels_app/channel/").content.decode()

    assert f"{NOT_SERVED} <strong>(not available)</strong>" in page
