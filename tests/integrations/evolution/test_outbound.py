"""Replies sent through the Evolution adapter, by the real sender path (integrations.outbound),
against the Evolution API simulator: what goes out, each error as Evolution words it, and never
a reply sent twice."""

from __future__ import annotations

import base64

import pytest
from django.core.files.base import ContentFile

from channels_app.models import Channel
from conversations.models import Attachment, Message
from conversations.services import message_send
from integrations.evolution.simulator import LICENSE_REQUIRED_BODY, EvolutionSimulator
from integrations.outbound.send import message_deliver_now
from tests import factories
from tests.integrations.evolution.conftest import (
    BUSINESS,
    CUSTOMER,
    INSTANCE,
    INSTANCE_TOKEN,
    WEBHOOK_SECRET,
    fixture_json,
    pending_reply,
)

pytestmark = pytest.mark.django_db


def test_a_reply_goes_out_as_sendtext_and_keeps_its_key_id(evolution, conversation, agent,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = message_send(conversation=conversation, actor=agent, content="Olá! Já verifico.")

    reply.refresh_from_db()
    (sent,) = evolution.sent
    assert reply.status == Message.Status.SENT and reply.provider_message_id == sent["id"]
    assert sent["type"] == "conversation" and sent["instance"] == INSTANCE
    expected = fixture_json("send-text.request.json")
    assert set(sent["body"]) <= set(expected) and sent["body"]["number"] == CUSTOMER
    assert sent["body"]["text"] == "Olá! Já verifico."
    request = evolution.requests[-1]
    assert request["path"] == f"/message/sendText/{INSTANCE}"


def test_a_reply_to_a_message_quotes_its_key(evolution, conversation):
    inbound = factories.MessageFactory(conversation=conversation, provider_message_id="A5B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5")
    reply = pending_reply(conversation)
    Message.all_objects.filter(pk=reply.pk).update(reply_to=inbound)

    assert message_deliver_now(message_id=reply.pk).status == "sent"
    assert evolution.sent[0]["body"]["quoted"] == {"key": {"id": "A5B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5"}}


@pytest.mark.parametrize("file_name,content_type,message_type,mediatype", [
    ("receipt.png", "image/png", Message.Type.IMAGE, "image"),
    ("invoice-0001.pdf", "application/pdf", Message.Type.DOCUMENT, "document"),
    ("note.ogg", "audio/ogg", Message.Type.AUDIO, "audio"),
])
def test_an_attachment_goes_out_as_sendmedia_in_base64(evolution, conversation, file_name, content_type,
                                                        message_type, mediatype):
    data = b"%PDF-1.4 fake" if mediatype == "document" else b"\x89PNG fake bytes"
    reply = pending_reply(conversation, content="Segue o arquivo")
    Message.all_objects.filter(pk=reply.pk).update(type=message_type)
    Attachment.all_objects.create(tenant=conversation.tenant, message=reply, file=ContentFile(data, name=file_name),
                                  file_name=file_name, content_type=content_type, size=len(data))

    assert message_deliver_now(message_id=reply.pk).status == "sent"

    body = evolution.sent[0]["body"]
    shape = fixture_json("send-media-document-base64.request.json")
    assert set(body) <= set(shape)
    assert (body["mediatype"], body["mimetype"], body["fileName"]) == (mediatype, content_type, file_name)
    assert base64.b64decode(body["media"]) == data
    assert body.get("caption") == (None if mediatype == "audio" else "Segue o arquivo")
    reply.refresh_from_db()
    assert reply.provider_message_id == evolution.sent[0]["id"]


def test_a_number_without_whatsapp_fails_the_reply_saying_so(evolution, conversation):
    evolution.not_on_whatsapp.add(CUSTOMER)
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"

    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "not_on_whatsapp")
    assert "no WhatsApp account" in reply.error_message and CUSTOMER in reply.error_message
    assert evolution.sent == []


def test_the_fixtures_not_on_whatsapp_answer_is_read_the_same(evolution, conversation):
    evolution.fail_next(400, fixture_json("error-400-number-not-on-whatsapp.response.json"))
    reply = pending_reply(conversation)

    message_deliver_now(message_id=reply.pk)

    assert Message.all_objects.get(pk=reply.pk).error_code == "not_on_whatsapp"


def test_another_refusal_fails_the_reply_with_evolutions_words(evolution, conversation):
    evolution.fail_next(400, fixture_json("error-400-validation.response.json"))
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"

    reply.refresh_from_db()
    assert (reply.error_code, reply.error_message) == ("bad_request", 'requires property "text"')


@pytest.mark.parametrize("status,fixture,code", [
    (401, "error-401-unauthorized.response.json", "unauthorized"),
    (403, None, "forbidden"),
    (404, "error-404-instance-not-found.response.json", "instance_not_found"),
    (404, "error-404-route.response.json", "not_found"),
    (503, None, "license_required"),
])
def test_a_refused_channel_fails_the_reply_and_flags_the_channel(evolution, conversation, evolution_channel, status,
                                                                 fixture, code):
    body = LICENSE_REQUIRED_BODY if code == "license_required" else (fixture_json(fixture) if fixture else None)
    evolution.fail_next(status, body)
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"

    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, code)
    evolution_channel.refresh_from_db()
    assert evolution_channel.status == Channel.Status.ERROR and code in evolution_channel.status_detail
    if code == "license_required":
        assert "licence" in reply.error_message


def test_a_deleted_instance_is_refused_as_evolution_refuses_it(evolution, conversation, evolution_channel):
    del evolution.instances[INSTANCE]  # its token now opens nothing: Evolution answers 401
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    assert Message.all_objects.get(pk=reply.pk).error_code == "unauthorized"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_server_in_trouble_is_retried_with_backoff_then_succeeds(evolution, conversation, status):
    evolution.fail_next(status, {"message": "busy"} if status == 503 else None)  # a 503 that is no licence gate
    reply = pending_reply(conversation)

    first = message_deliver_now(message_id=reply.pk)
    waiting = Message.all_objects.get(pk=reply.pk)
    second = message_deliver_now(message_id=reply.pk)

    assert first.status == "retry" and first.retry_in > 0
    assert waiting.status == Message.Status.PENDING and waiting.send_attempts == 1
    assert second.status == "sent" and len(evolution.sent) == 1


def test_a_server_that_cannot_be_reached_is_retried(conversation, settings):
    settings.EVOLUTION_API_URL = "http://127.0.0.1:9"  # nothing listens there: certainly not sent
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "retry"
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.PENDING


def test_a_send_left_unanswered_is_delivery_unknown_and_never_sent_again_on_its_own(evolution, conversation,
                                                                                     monkeypatch):
    """Evolution may have sent a message whose answer never came: sending it again could reach the
    customer twice."""
    from integrations.evolution import client

    monkeypatch.setattr(client, "TIMEOUT", (1.0, 0.3))
    evolution.fail_next(None, hang_seconds=0.6, path="/message/")
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "unknown"

    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "delivery_unknown")
    assert message_deliver_now(message_id=reply.pk).status == "skipped"
    assert evolution.wait_for_sends(1, timeout=5) and len(evolution.sent) == 1  # it did go: once


def test_an_answer_without_the_messages_id_is_delivery_unknown(evolution, conversation):
    evolution.fail_next(201, {"status": "PENDING"}, path="/message/")  # accepted, but which message?
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "unknown"
    assert Message.all_objects.get(pk=reply.pk).error_code == "delivery_unknown"


def test_a_sent_reply_is_never_sent_twice(evolution, conversation):
    reply = pending_reply(conversation)

    assert [message_deliver_now(message_id=reply.pk).status for _ in range(3)] == ["sent", "skipped", "skipped"]
    assert len(evolution.sent) == 1


def test_a_failed_reply_is_never_sent_again_on_its_own(evolution, conversation):
    evolution.not_on_whatsapp.add(CUSTOMER)
    reply = pending_reply(conversation)

    assert [message_deliver_now(message_id=reply.pk).status for _ in range(2)] == ["failed", "skipped"]
    assert evolution.sent == []


def test_a_reply_to_a_group_goes_to_the_group(evolution, evolution_channel):
    group = factories.ContactFactory(tenant=evolution_channel.tenant, name="Clientes VIP")
    factories.ContactIdentityFactory(contact=group, tenant=evolution_channel.tenant, channel=evolution_channel,
                                     external_id="120363000000000001@g.us")
    conversation = factories.ConversationFactory(tenant=evolution_channel.tenant, channel=evolution_channel,
                                                 contact=group)
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "sent"
    assert evolution.sent[0]["jid"] == "120363000000000001@g.us"


@pytest.mark.django_db(transaction=True)
def test_simulated_receipts_move_the_reply_to_read(live_server, settings, evolution_channel, conversation):
    webhook_url = f"{live_server.url}/webhooks/whatsapp_evolution/{evolution_channel.webhook_token}"
    with EvolutionSimulator(status_progression=("DELIVERY_ACK", "READ"), status_delay=0.01) as simulator:
        simulator.add_instance(INSTANCE, token=INSTANCE_TOKEN, state="open", phone=BUSINESS, webhook_url=webhook_url,
                               webhook_headers={"x-inbox-webhook-secret": WEBHOOK_SECRET})
        settings.EVOLUTION_API_URL = simulator.base_url
        reply = pending_reply(conversation)

        assert message_deliver_now(message_id=reply.pk).status == "sent"
        assert simulator.wait_for_webhooks(timeout=10)

    reply.refresh_from_db()
    assert reply.status == Message.Status.READ
    # Its echo (send.message) came too, and made no second copy of it.
    assert [entry["event"] for entry in simulator.webhook_log] == ["send.message", "messages.update",
                                                                  "messages.update"]
    assert {entry["http_status"] for entry in simulator.webhook_log} == {200}
    assert Message.all_objects.filter(channel=evolution_channel).count() == 1


# --- Cloud API mode: Meta's refusal comes back inside Evolution's 201 ------------------------

@pytest.fixture
def cloud_conversation(conversation, evolution_channel):
    evolution_channel.config = {**evolution_channel.config, "integration": "WHATSAPP-BUSINESS"}
    evolution_channel.save(update_fields=["config"])
    return conversation


def test_a_cloud_api_refusal_relayed_with_201_fails_the_reply_in_metas_terms(evolution, cloud_conversation):
    evolution.fail_next(201, fixture_json("send-text-cloud-api-refused.response.json"), path="/message/")
    reply = pending_reply(cloud_conversation)

    assert message_deliver_now(message_id=reply.pk).status == "failed"

    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "131030")
    assert "allowed list" in reply.error_message


@pytest.mark.parametrize("code,outcome", [
    (131056, "retry"),  # pair rate limit: later, not never
    (190, "failed"),  # the token: the channel must be connected again
])
def test_metas_temporary_and_token_refusals_are_told_apart(evolution, cloud_conversation, evolution_channel, code,
                                                           outcome):
    evolution.fail_next(201, {"message": "refused", "type": "OAuthException", "code": code,
                              "fbtrace_id": "AFakeTraceId0000000010"}, path="/message/")
    reply = pending_reply(cloud_conversation)

    assert message_deliver_now(message_id=reply.pk).status == outcome

    reply.refresh_from_db()
    if code == 190:
        evolution_channel.refresh_from_db()
        assert reply.error_code == "190" and evolution_channel.status == Channel.Status.ERROR
    else:
        assert reply.status == Message.Status.PENDING


def test_a_qr_paired_number_reads_an_odd_201_as_delivery_unknown_still(evolution, conversation):
    """Only the Cloud API mode relays Meta's errors: a QR-paired instance's answer without a key
    stays what it is (perhaps sent)."""
    evolution.fail_next(201, fixture_json("send-text-cloud-api-refused.response.json"), path="/message/")
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "unknown"
