"""Replies sent through the WhatsApp Cloud adapter against the Graph API simulator."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from channels_app.models import Channel
from conversations.models import Conversation, Message
from conversations.services import conversation_mark_read, message_retry, message_send
from integrations.outbound.send import message_deliver_now
from integrations.whatsapp_cloud.simulator import GraphSimulator
from tests import factories
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET, CUSTOMER, FIXTURES, pending_reply

pytestmark = pytest.mark.django_db


def test_a_reply_is_sent_after_commit_and_carries_metas_id(graph, conversation, agent,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = message_send(conversation=conversation, actor=agent, content="Olá! Já verifico.")

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert [sent["wamid"] for sent in graph.sent] == [reply.provider_message_id]
    body = graph.sent[0]["body"]
    expected = json.loads((FIXTURES / "send-text.request.json").read_text())
    assert set(body) == set(expected) | {"biz_opaque_callback_data"} and body["to"] == CUSTOMER
    assert body["text"]["body"] == "Olá! Já verifico."
    assert body["biz_opaque_callback_data"] == str(reply.public_id)  # echoed back in its statuses


def test_reply_to_a_message_sends_its_context(graph, conversation):
    inbound = factories.MessageFactory(conversation=conversation, provider_message_id="wamid.IN-1")
    reply = pending_reply(conversation)
    Message.all_objects.filter(pk=reply.pk).update(reply_to=inbound)

    assert message_deliver_now(message_id=reply.pk).status == "sent"
    assert graph.sent[0]["body"]["context"] == {"message_id": "wamid.IN-1"}


def test_a_template_goes_out_with_its_parameters(graph, conversation):
    reply = pending_reply(conversation, content="")
    Message.all_objects.filter(pk=reply.pk).update(
        type=Message.Type.TEMPLATE,
        content_attributes={"template": {"name": "hello_world", "language": "en_US", "parameters": []}})

    assert message_deliver_now(message_id=reply.pk).status == "sent"
    assert graph.sent[0]["body"]["template"]["name"] == "hello_world"


@pytest.mark.parametrize("code,http_status", [(130429, None), (131056, None), (None, 500), (None, 503)])
def test_temporary_errors_are_retried_with_backoff_then_succeed(graph, conversation, code, http_status):
    reply = pending_reply(conversation)
    graph.fail_next(1, code=code, http_status=http_status)

    first = message_deliver_now(message_id=reply.pk)
    waiting = Message.all_objects.get(pk=reply.pk)
    second = message_deliver_now(message_id=reply.pk)

    assert first.status == "retry" and first.retry_in > 0
    # The attempt and its backoff are kept on the reply: senders leave it alone until then.
    assert waiting.status == Message.Status.PENDING and waiting.send_attempts == 1
    assert waiting.send_after > timezone.now() + timedelta(seconds=first.retry_in - 5)
    assert second.status == "sent"
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT and len(graph.sent) == 1


def test_a_send_left_unanswered_is_delivery_unknown_and_never_sent_again_on_its_own(graph, conversation,
                                                                                     monkeypatch):
    """Meta may have taken a message whose answer never came: sending it again could reach the
    customer twice. The agent sees it failed as "delivery unknown" and may send it again."""
    from integrations.whatsapp_cloud import adapter

    monkeypatch.setattr(adapter, "TIMEOUT", (1, 0.3))
    reply = pending_reply(conversation)
    graph.fail_next(1, hang_seconds=1.0, code=131000)

    assert message_deliver_now(message_id=reply.pk).status == "unknown"
    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "delivery_unknown")
    assert "not known whether" in reply.error_message
    assert message_deliver_now(message_id=reply.pk).status == "skipped"


def test_a_refused_connection_is_retried(conversation, settings):
    settings.WHATSAPP_GRAPH_API_URL = "http://127.0.0.1:9"  # nothing listens there: certainly not sent
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "retry"
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.PENDING


def test_temporary_errors_give_up_after_the_last_attempt(graph, conversation):
    reply = pending_reply(conversation)
    Message.all_objects.filter(pk=reply.pk).update(send_attempts=7)
    graph.fail_next(1, code=130429)

    outcome = message_deliver_now(message_id=reply.pk)

    reply.refresh_from_db()
    assert outcome.status == "failed" and reply.status == Message.Status.FAILED and reply.error_code == "130429"


@pytest.mark.parametrize("code", [132000, 100, 131026, 131051])
def test_permanent_errors_fail_the_message_with_metas_code_and_a_reason(graph, conversation, code):
    reply = pending_reply(conversation)
    graph.fail_next(1, code=code)

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED and reply.error_code == str(code) and reply.error_message
    assert message_deliver_now(message_id=reply.pk).status == "skipped"  # never sent again on its own


def test_an_invalid_token_fails_the_message_and_flags_the_channel(graph, conversation, whatsapp):
    reply = pending_reply(conversation)
    graph.fail_next(1, code=190)

    assert message_deliver_now(message_id=reply.pk).status == "failed"
    whatsapp.refresh_from_db()
    assert whatsapp.status == Channel.Status.ERROR and "190" in whatsapp.status_detail
    assert Message.all_objects.get(pk=reply.pk).error_code == "190"


def test_a_delivered_message_is_never_sent_twice(graph, conversation):
    reply = pending_reply(conversation)

    outcomes = [message_deliver_now(message_id=reply.pk).status for _ in range(3)]

    assert outcomes == ["sent", "skipped", "skipped"]
    assert len(graph.sent) == 1


def test_the_agent_can_send_a_failed_reply_again(graph, conversation, agent, django_capture_on_commit_callbacks):
    reply = pending_reply(conversation)
    graph.fail_next(1, code=131026)
    message_deliver_now(message_id=reply.pk)

    with django_capture_on_commit_callbacks(execute=True):
        message_retry(message=Message.all_objects.get(pk=reply.pk), actor=agent)

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT and reply.error_code == ""
    assert len(graph.sent) == 1 and graph.sent[0]["wamid"] == reply.provider_message_id


def test_the_throughput_cap_is_respected_instead_of_discovered(graph, conversation, whatsapp):
    graph.numbers["100000000000002"].throughput_per_second = 30
    Channel.all_objects.filter(pk=whatsapp.pk).update(config={**whatsapp.config, "throughput_per_second": 30})
    replies = [pending_reply(conversation, content=f"m{n}") for n in range(45)]

    outcomes = [message_deliver_now(message_id=reply.pk).status for reply in replies]

    assert outcomes == ["sent"] * 45
    assert graph.stats()["sends_rejected_cap"] == 0 and len(graph.sent) == 45


def test_opening_a_conversation_marks_it_read_on_whatsapp(graph, conversation, agent,
                                                          django_capture_on_commit_callbacks):
    inbound = factories.MessageFactory(conversation=conversation, provider_message_id="wamid.IN-READ")
    graph.remember_inbound("100000000000002", "wamid.IN-READ")
    Conversation.all_objects.filter(pk=conversation.pk).update(unread_count=1)
    conversation.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        conversation_mark_read(conversation=conversation, actor=agent)

    assert [receipt["message_id"] for receipt in graph.read_receipts] == [inbound.provider_message_id]


def test_api_retry_endpoint_resends(graph, conversation, agent, api, whatsapp, member,
                                    django_capture_on_commit_callbacks):
    reply = pending_reply(conversation)
    graph.fail_next(1, code=131026)
    message_deliver_now(message_id=reply.pk)
    client = api(member(whatsapp.tenant, Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/messages/{reply.public_id}/retry")
    again = client.post(f"/api/v1/messages/{reply.public_id}/retry")

    assert response.status_code == 200 and response.json()["status"] == "PENDING"
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.SENT
    assert again.status_code == 409 and again.json()["error"]["code"] == "message_not_retryable"


@pytest.mark.django_db(transaction=True)
def test_simulated_status_webhooks_move_the_reply_to_read(live_server, settings, whatsapp, conversation):
    webhook_url = f"{live_server.url}/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"
    with GraphSimulator(status_progression=("sent", "delivered", "read"), status_delay=0.01) as simulator:
        simulator.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET,
                             waba_id="100000000000001", webhook_url=webhook_url)
        settings.WHATSAPP_GRAPH_API_URL = simulator.base_url
        settings.WHATSAPP_GRAPH_API_VERSION = simulator.version
        reply = pending_reply(conversation)

        assert message_deliver_now(message_id=reply.pk).status == "sent"
        assert simulator.wait_for_webhooks(timeout=10)

    reply.refresh_from_db()
    assert reply.status == Message.Status.READ and reply.delivered_at and reply.read_at
    assert [entry["http_status"] for entry in simulator.webhook_log] == [200, 200, 200]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("claim_ran_out", [False, True], ids=["claim-holds", "failed-delivery-unknown"])
def test_a_status_naming_our_id_confirms_a_reply_whose_sender_died(live_server, settings, whatsapp, conversation,
                                                                    claim_ran_out):
    from conversations.services import DELIVERY_UNKNOWN, messages_sending_expire
    from integrations.base import OutboundMessage
    from integrations.outbound.send import reply_claim
    from integrations.whatsapp_cloud.adapter import WhatsAppCloudAdapter

    webhook_url = f"{live_server.url}/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"
    with GraphSimulator(status_progression=()) as simulator:
        simulator.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET,
                             waba_id="100000000000001", webhook_url=webhook_url)
        settings.WHATSAPP_GRAPH_API_URL = simulator.base_url
        settings.WHATSAPP_GRAPH_API_VERSION = simulator.version
        reply = pending_reply(conversation)
        # What a sender does before it dies: it claims the reply, Meta takes it, and the answer is
        # never recorded.
        claimed = reply_claim(reply.pk, whatsapp)
        WhatsAppCloudAdapter(whatsapp).send(OutboundMessage(
            message_id=reply.pk, to=CUSTOMER, type="TEXT", content=reply.content, content_attributes={},
            reference=str(claimed.public_id)))
        reply.refresh_from_db()
        assert reply.status == Message.Status.PENDING and reply.send_lease_until is not None
        assert reply.provider_message_id is None
        if claim_ran_out:
            Message.all_objects.filter(pk=reply.pk).update(send_lease_until=timezone.now() - timedelta(seconds=1))
            assert messages_sending_expire() == 1
            reply.refresh_from_db()
            assert reply.status == Message.Status.FAILED and reply.error_code == DELIVERY_UNKNOWN
        (record,) = simulator.sent
        assert record["body"]["biz_opaque_callback_data"] == str(reply.public_id)

        simulator.post_status("100000000000002", record["wamid"], "sent")
        assert simulator.wait_for_webhooks(timeout=10)
        reply.refresh_from_db()
        assert reply.status == Message.Status.SENT and reply.provider_message_id == record["wamid"]
        assert reply.error_code == "" and reply.send_lease_until is None

        simulator.post_status("100000000000002", record["wamid"], "delivered")
        assert simulator.wait_for_webhooks(timeout=10)

    reply.refresh_from_db()
    assert reply.status == Message.Status.DELIVERED and reply.provider_message_id == record["wamid"]
    assert len(simulator.sent) == 1  # confirmed, never sent a second time
    statuses = [json.loads(entry["body"])["entry"][0]["changes"][0]["value"]["statuses"][0]
                for entry in simulator.webhook_log]
    assert [(status["status"], status["biz_opaque_callback_data"]) for status in statuses] == [
        ("sent", str(reply.public_id)), ("delivered", str(reply.public_id))]
    assert [entry["http_status"] for entry in simulator.webhook_log] == [200, 200]


def test_inbox_retry_button_resends(graph, conversation, agent, client, django_capture_on_commit_callbacks):
    from tests.factories import PASSWORD

    reply = pending_reply(conversation)
    graph.fail_next(1, code=131026)
    message_deliver_now(message_id=reply.pk)
    client.post("/login/", {"email": agent.email, "password": PASSWORD})

    page = client.get(f"/inbox/c/{conversation.public_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"/inbox/messages/{reply.public_id}/retry/")

    assert f"/inbox/messages/{reply.public_id}/retry/" in page and 'class="failure"' in page
    assert retried.status_code == 200
    assert Message.all_objects.get(pk=reply.pk).status == Message.Status.SENT


def test_a_new_access_token_is_used_from_the_next_reply_on(graph, conversation, whatsapp):
    assert message_deliver_now(message_id=pending_reply(conversation).pk).status == "sent"  # channel remembered
    graph.remove_number("100000000000002")
    graph.add_number("100000000000002", token="EAAG-new-token", app_secret=APP_SECRET, waba_id="100000000000001")
    whatsapp.credentials = {**whatsapp.credentials, "access_token": "EAAG-new-token"}
    whatsapp.save()

    assert message_deliver_now(message_id=pending_reply(conversation).pk).status == "sent"


def test_the_environments_proxy_is_used_unless_the_host_is_exempt(monkeypatch):
    import urllib3

    from integrations.whatsapp_cloud import adapter

    monkeypatch.setattr(adapter._pool, "by_host", {})
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "lookaside.fbsbx.com")

    through_proxy = adapter._pool("https://graph.facebook.com/v21.0/1/messages")
    direct = adapter._pool("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")

    assert isinstance(through_proxy, urllib3.ProxyManager) and through_proxy.proxy.host == "proxy.internal"
    assert not isinstance(direct, urllib3.ProxyManager)
    assert adapter._pool("https://graph.facebook.com/v21.0/2/messages") is through_proxy  # one pool per host


def test_what_the_provider_would_refuse_is_refused_before_it_is_written(conversation, agent):
    """WhatsApp takes up to 4,096 characters and only some files: the agent learns it at once,
    not from a failed send later. A private note goes to no provider."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from config.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="4.096"):
        message_send(conversation=conversation, actor=agent, content="a" * 4097)
    gif = SimpleUploadedFile("dança.gif", b"GIF89a" + b"\0" * 20, content_type="image/gif")
    with pytest.raises(ValidationFailed, match="image/gif"):
        message_send(conversation=conversation, actor=agent, content="olha", attachments=[gif])

    note, _ = message_send(conversation=conversation, actor=agent, content="a" * 4097, private=True)
    photo = SimpleUploadedFile("caixa.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, content_type="image/png")
    reply, _ = message_send(conversation=conversation, actor=agent, content="a foto", attachments=[photo])
    assert note.private and reply.type == Message.Type.IMAGE
    assert not Message.all_objects.filter(content="olha").exists()
