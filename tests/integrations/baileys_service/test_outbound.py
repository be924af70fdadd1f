"""Replies sent through the connection service adapter against its simulator, through the real
sender path (claim, call, record): each of the service's answers as the agent sees it."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from urllib3.exceptions import ConnectTimeoutError

from accounts.models import Role
from channels_app.models import Channel
from config.crypto import Secrets
from conversations.models import Message
from conversations.services import message_send
from integrations.baileys_service.adapter import ConnectionServiceAdapter
from integrations.outbound.send import message_deliver_now
from tests import factories
from tests.integrations.baileys_service.conftest import (
    API_KEY,
    CUSTOMER,
    FIXTURES,
    SECRET,
    SESSION,
    pending_reply,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(gateway, member):
    return member(gateway.tenant, Role.AGENT, channels=(gateway,)).user


def test_a_reply_goes_out_after_commit_and_carries_the_services_id(paired, service, conversation, agent,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = message_send(conversation=conversation, actor=agent, content="Olá! Já verifico.")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert [sent["messageId"] for sent in service.sent] == [reply.provider_message_id]
    expected = json.loads((FIXTURES / "send-text.request.json").read_text())
    assert service.sent[0]["body"] == {**expected, "to": CUSTOMER, "message": "Olá! Já verifico."}
    request = service.requests[-1]
    assert (request["method"], request["path"]) == ("POST", f"/api/v1/messages/{SESSION}/send")
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_the_short_path_style_sends_the_session_in_the_body_with_x_api_key(service, acme, settings):
    service.auth_header = "x-api-key"
    service.add_session("inbox-short", connected=True, phone="15555550100")
    channel = factories.ChannelFactory(
        tenant=acme, kind="whatsapp_gateway", config={"session_id": "inbox-short", "path_style": "short",
                                                      "send_pacing_seconds": [0, 0]},
        credentials=Secrets({"webhook_secret": SECRET}))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    factories.ContactIdentityFactory(contact=conversation.contact, tenant=acme, channel=channel, external_id=CUSTOMER)
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "sent"
    request = service.requests[-1]
    assert (request["method"], request["path"]) == ("POST", "/message/send")
    assert request["headers"]["X-API-KEY"] == API_KEY and "Authorization" not in request["headers"]
    assert service.sent[0]["body"]["tenantId"] == "inbox-short"


def test_a_key_sent_the_way_the_service_does_not_take_it_is_refused(paired, service, conversation):
    service.auth_header = "x-api-key"  # the channel sends it as a bearer token
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    assert Message.all_objects.get(pk=reply.pk).error_code == "http_401"
    assert service.sent == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_fails_the_reply_and_flags_the_channel(status, paired, service, conversation):
    reply = pending_reply(conversation)
    service.fail_next(status)

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    reply.refresh_from_db()
    paired.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, f"http_{status}")
    assert "API key" in reply.error_message
    assert paired.status == Channel.Status.ERROR and f"http_{status}" in paired.status_detail
    assert message_deliver_now(message_id=reply.pk).status == "skipped"
    assert service.sent == []


@pytest.mark.parametrize("status,words", [(400, "Number is not on WhatsApp"), (404, "Session not found"),
                                          (422, "message is too long")])
def test_a_refusal_fails_the_reply_with_the_services_words(status, words, paired, service, conversation):
    reply = pending_reply(conversation)
    service.fail_next(status, {"success": False, "error": words})

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    reply.refresh_from_db()
    assert (reply.status, reply.error_code, reply.error_message) == (Message.Status.FAILED, f"http_{status}", words)
    assert message_deliver_now(message_id=reply.pk).status == "skipped"  # never sent again on its own
    assert service.sent == []


def test_a_session_that_is_not_paired_refuses_the_reply(service, gateway, conversation):
    service.add_session(SESSION)  # started, never scanned
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    assert Message.all_objects.get(pk=reply.pk).error_message == "Session not connected"


def test_a_success_false_answer_is_a_refusal(paired, service, conversation):
    reply = pending_reply(conversation)
    service.fail_next(200, {"success": False, "message": "Invalid recipient"})

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    assert Message.all_objects.get(pk=reply.pk).error_message == "Invalid recipient"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_service_trouble_is_retried_with_backoff_then_sent_once(status, paired, service, conversation):
    reply = pending_reply(conversation)
    service.fail_next(status)

    first = message_deliver_now(message_id=reply.pk)
    waiting = Message.all_objects.get(pk=reply.pk)
    second = message_deliver_now(message_id=reply.pk)

    assert first.status == "retry" and first.retry_in > 0
    assert waiting.status == Message.Status.PENDING and waiting.send_attempts == 1
    assert second.status == "sent"
    assert len(service.sent) == 1 and Message.all_objects.get(pk=reply.pk).status == Message.Status.SENT


def test_a_refused_connection_is_retried(gateway, conversation, settings):
    settings.CONNECTION_SERVICE_URL = "http://127.0.0.1:9"  # nothing listens there: certainly not sent
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "retry"
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.PENDING


def test_a_connect_timeout_is_retried(paired, service, conversation, monkeypatch):
    from integrations.baileys_service import client

    def never_connects(*args, **kwargs):
        raise ConnectTimeoutError(None, "connect timed out")

    monkeypatch.setattr(client._pool(service.base_url), "request", never_connects)
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "retry"
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.PENDING


def test_a_send_left_unanswered_is_delivery_unknown_and_never_sent_again(paired, service, conversation,
                                                                         monkeypatch):
    from integrations.baileys_service import client

    monkeypatch.setattr(client, "TIMEOUT", (1.0, 0.3))
    reply = pending_reply(conversation)
    service.fail_next(200, {"success": True, "messageId": "3EB0LATE"}, hang_seconds=1.0)

    assert message_deliver_now(message_id=reply.pk).status == "unknown"
    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "delivery_unknown")
    assert message_deliver_now(message_id=reply.pk).status == "skipped"


def test_an_answer_without_a_message_id_is_delivery_unknown(paired, service, conversation):
    reply = pending_reply(conversation)
    service.fail_next(200, {"success": True})

    assert message_deliver_now(message_id=reply.pk).status == "unknown"
    assert Message.all_objects.get(pk=reply.pk).error_code == "delivery_unknown"
    assert message_deliver_now(message_id=reply.pk).status == "skipped"


def test_a_reply_is_never_sent_twice(paired, service, conversation):
    reply = pending_reply(conversation)

    assert [message_deliver_now(message_id=reply.pk).status for _ in range(3)] == ["sent", "skipped", "skipped"]
    assert len(service.sent) == 1


def test_a_reply_with_a_file_fails_saying_why_without_asking_the_service(paired, service, conversation, agent,
                                                                         django_capture_on_commit_callbacks):
    photo = SimpleUploadedFile("caixa.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, content_type="image/png")

    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = message_send(conversation=conversation, actor=agent, content="a foto", attachments=[photo])

    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "media_not_supported")
    assert "text only" in reply.error_message
    assert service.requests == []


def test_a_number_paired_by_qr_code_sends_at_a_humans_pace_by_default(gateway):
    Channel.all_objects.filter(pk=gateway.pk).update(config={"session_id": SESSION})
    gateway.refresh_from_db()

    assert ConnectionServiceAdapter.default_send_pacing_seconds == (1.0, 3.0)
    assert ConnectionServiceAdapter(gateway).send_pacing_seconds == (1.0, 3.0)


@pytest.mark.django_db(transaction=True)
def test_the_services_receipts_move_the_reply_to_read(live_server, settings, gateway, conversation):
    from integrations.baileys_service.simulator import ConnectionServiceSimulator

    with ConnectionServiceSimulator(api_key=API_KEY, status_delay=0.01) as simulator:
        simulator.add_session(SESSION, webhook_url=f"{live_server.url}/webhooks/whatsapp_gateway/"
                                                   f"{gateway.webhook_token}", secret=SECRET, connected=True,
                              phone="15555550100")
        settings.CONNECTION_SERVICE_URL = simulator.base_url
        settings.CONNECTION_SERVICE_API_KEY = API_KEY
        reply = pending_reply(conversation)

        assert message_deliver_now(message_id=reply.pk).status == "sent"
        assert simulator.wait_for_webhooks(timeout=10)

    reply.refresh_from_db()
    assert reply.status == Message.Status.READ and reply.delivered_at and reply.read_at
    assert [entry["http_status"] for entry in simulator.webhook_log] == [200, 200]
    assert [json.loads(entry["body"])["event"] for entry in simulator.webhook_log] == ["message.status"] * 2
