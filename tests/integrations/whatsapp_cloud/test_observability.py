"""What operators see of a provider's traffic: the webhooks and sends counted on /metrics
(scraped and parsed as Prometheus would), and log lines that name ids, never what a person
wrote nor their number or address."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from conversations.models import Message
from conversations.services import message_send
from integrations.inbound.ingress import WebhookIngress
from integrations.outbound.send import message_deliver_now
from tests.core.test_metrics import TOKEN, parse, scrape, value
from tests.integrations.whatsapp_cloud.conftest import fixture_bytes, pending_reply
from tests.integrations.whatsapp_cloud.test_ingress import _django_stand_in, _request, _signed
from tests.log_capture import json_log_lines

KIND = "whatsapp_cloud"
CUSTOMER_TEXT = "Hi, does it come in another color?"  # what inbound-text.json's customer wrote


@pytest.fixture(autouse=True)
def _metrics_on(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


def _delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.mark.django_db
def test_webhooks_are_counted_stored_and_refused_by_reason(client, whatsapp, post_webhook):
    before = scrape(client)

    assert post_webhook(whatsapp, fixture_bytes("inbound-text.json")).status_code == 200
    assert post_webhook(whatsapp, fixture_bytes("inbound-text.json"), secret="wrong").status_code == 401
    unknown = client.post(f"/webhooks/{KIND}/no-such-token", b"{}", content_type="application/json")
    assert unknown.status_code == 404

    after = scrape(client)
    assert _delta(before, after, "inbox_webhooks_received_total", kind=KIND) == 1
    assert _delta(before, after, "inbox_webhooks_refused_total", kind=KIND, reason="invalid_signature") == 1
    assert _delta(before, after, "inbox_webhooks_refused_total", kind="unknown", reason="unknown_webhook") == 1


@pytest.mark.django_db(transaction=True)
def test_the_asgi_ingress_counts_what_it_stores_and_refuses(client, whatsapp):
    ingress = WebhookIngress(_django_stand_in)
    body = fixture_bytes("inbound-text.json")
    try:
        before = scrape(client)
        stored = async_to_sync(_request)(ingress, f"/webhooks/{KIND}/{whatsapp.webhook_token}", body,
                                         headers=_signed(body))
        forged = async_to_sync(_request)(ingress, f"/webhooks/{KIND}/{whatsapp.webhook_token}", body,
                                         headers=_signed(body, "not-the-secret"))
        stranger = async_to_sync(_request)(ingress, "/webhooks/made-up-kind/x", body, headers=_signed(body))
        ingress.database.submit(lambda: None).result(timeout=30)
        after = scrape(client)
    finally:
        ingress.close()

    assert (stored[0], forged[0], stranger[0]) == (200, 401, 404)
    assert _delta(before, after, "inbox_webhooks_received_total", kind=KIND) == 1
    assert _delta(before, after, "inbox_webhooks_refused_total", kind=KIND, reason="invalid_signature") == 1
    # A kind nobody serves is the URL writer's word: never a label of its own.
    assert _delta(before, after, "inbox_webhooks_refused_total", kind="unknown", reason="unknown_webhook") == 1
    assert not any(dict(labels).get("kind") == "made-up-kind" for _, labels in after)


@pytest.mark.django_db
def test_replies_sent_and_retried_are_counted_with_the_providers_time(client, graph, conversation):
    before = scrape(client)
    sent = pending_reply(conversation)
    assert message_deliver_now(message_id=sent.pk).status == "sent"
    graph.fail_next(1, http_status=503)
    retried = pending_reply(conversation)
    assert message_deliver_now(message_id=retried.pk).status == "retry"

    after = scrape(client)
    assert _delta(before, after, "inbox_outbound_sends_total", kind=KIND, outcome="sent") == 1
    assert _delta(before, after, "inbox_outbound_sends_total", kind=KIND, outcome="retry") == 1
    assert _delta(before, after, "inbox_outbound_send_duration_seconds_count", kind=KIND) == 1


@pytest.mark.django_db
def test_an_inbound_message_and_a_reply_log_ids_never_content_numbers_or_secrets(
        client, whatsapp, post_webhook, graph, agent, conversation, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = False
    reply_text = "Temos em azul, posso separar para você?"
    with json_log_lines() as lines:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(whatsapp, fixture_bytes("inbound-text.json")).status_code == 200
        inbound = Message.all_objects.get(channel=whatsapp, direction=Message.Direction.INBOUND)
        graph.fail_next(1, http_status=503)  # a retry: the pipeline logs it
        with django_capture_on_commit_callbacks(execute=True):
            reply, _ = message_send(conversation=conversation, actor=agent, content=reply_text)
        post_webhook(whatsapp, fixture_bytes("inbound-text.json"), secret="wrong")  # Django logs the 401

    logged = lines()
    text = json.dumps(logged, ensure_ascii=False)
    assert logged and inbound.content == CUSTOMER_TEXT
    for secret in (CUSTOMER_TEXT, reply_text, "15555550123", "Test Customer", whatsapp.webhook_token,
                   "EAAG-test-token"):
        assert secret not in text, secret
    retry = next(line for line in logged if line["logger"] == "integrations.outbound.send")
    assert (retry["tenant_id"], retry["channel_id"], retry["message_id"]) == (whatsapp.tenant_id, whatsapp.pk,
                                                                              reply.pk)
    created = [line for line in logged if line["message"].startswith("event message.created")]
    assert {line["message_id"] for line in created} == {inbound.pk, reply.pk}
    assert all(line["tenant_id"] == whatsapp.tenant_id for line in created)
    refused = next(line for line in logged if line["logger"] == "django.request")
    assert f"/webhooks/{KIND}/***" in refused["message"]


def test_parse_reads_what_the_view_writes() -> None:
    assert parse("# TYPE x counter\nx_total 1.0\n") == {("x_total", frozenset()): 1.0}


@pytest.mark.django_db
def test_a_reply_tasks_retry_is_counted(client, graph, conversation):
    from integrations.outbound.tasks import message_deliver

    reply = pending_reply(conversation)
    before = scrape(client)
    graph.fail_next(1, http_status=503)

    # As a worker runs it (its errors kept, not thrown at the caller): the retry is signalled.
    result = message_deliver.apply(kwargs={"message_id": reply.pk}, throw=False)

    after = scrape(client)
    assert result.state == "SUCCESS"  # (eagerly, the retry ran at once, and sent it)
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert _delta(before, after, "inbox_task_retries_total", task="integrations.tasks.message_deliver") == 1
    assert _delta(before, after, "inbox_outbound_sends_total", kind=KIND, outcome="retry") == 1


@pytest.mark.django_db(transaction=True)
def test_the_asgi_ingress_answers_with_a_request_id_its_log_lines_carry(client, whatsapp, monkeypatch):
    from integrations.inbound import ingress as ingress_module

    def store_fails(rows, answer):
        raise RuntimeError("database away")

    monkeypatch.setattr(ingress_module, "_store", store_fails)
    ingress = WebhookIngress(_django_stand_in)
    body = fixture_bytes("inbound-text.json")
    try:
        with json_log_lines() as lines:
            status, headers, _ = async_to_sync(_request)(
                ingress, f"/webhooks/{KIND}/{whatsapp.webhook_token}", body,
                headers=[*_signed(body), ("X-Request-ID", "provider-delivery-7")])
    finally:
        ingress.close()

    assert status == 503 and headers[b"x-request-id"] == b"provider-delivery-7"
    failed = next(line for line in lines() if line["message"].startswith("webhook of channel"))
    assert failed["request_id"] == "provider-delivery-7"
    assert (failed["tenant_id"], failed["channel_id"]) == (whatsapp.tenant_id, whatsapp.pk)
    assert whatsapp.webhook_token not in json.dumps(lines()) and CUSTOMER_TEXT not in json.dumps(lines())
