"""Outbound webhooks as a receiver sees them: signed (verified with the Standard Webhooks
library, as an integrator's code would), retried on the schedule, in order per conversation,
disabled after a day of failures, replayed on request."""

from __future__ import annotations

import datetime as dt

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import AuditEntry, Role
from conversations.models import Message
from tests import factories
from tests.webhooks.conftest import Answer
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    webhook_deliveries_purge,
    webhook_endpoint_deliver,
    webhook_endpoint_register,
    webhook_secret_rotate,
    webhook_test_send,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _endpoint(tenant, receiver, events=("message.received",), actor=None):
    return webhook_endpoint_register(tenant=tenant, actor=actor, url=receiver.url, events=events)


def _delivery(endpoint, *, key="", at=T0, event="message.received"):
    return WebhookDelivery.all_objects.create(tenant_id=endpoint.tenant_id, endpoint=endpoint, event=event,
                                              payload={"event": event, "data": {"n": key}}, ordering_key=key,
                                              created_at=at)


# --- What a receiver gets, through the real inbound pipeline ------------------------------------

def test_an_inbound_message_reaches_the_endpoint_signed_in_the_seed_envelope(acme, member, api, receiver,
                                                                           django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="CRM")
    endpoint, secret = _endpoint(acme, receiver, events=("message.received", "conversation.created",
                                                          "contact.created"))
    client = api(member(acme, Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/api/v1/channels/{channel.public_id}/messages", {
            "contact": {"external_id": "crm-1", "name": "Bruna Costa", "phone": "11 99876-5432"},
            "content": "Quero trocar o tamanho", "external_id": "crm-msg-1"}, format="json")

    assert answer.status_code == 201, answer.content
    message = Message.all_objects.select_related("conversation__contact").get(public_id=answer.json()["id"])
    bodies = {}
    for request in receiver.received:
        # What an integrator's receiver does: verify, then parse.
        body = Webhook(secret).verify(request.body, request.headers)
        bodies[body["event"]] = (body, request.headers)
    assert set(bodies) == {"message.received", "conversation.created", "contact.created"}
    body, headers = bodies["message.received"]
    assert body["version"] == 1 and body["timestamp"].endswith("Z")
    assert body["data"]["message_id"] == str(message.public_id)
    assert body["data"]["conversation_id"] == str(message.conversation.public_id)
    assert body["data"]["sender"] == {"type": "contact", "id": str(message.conversation.contact.public_id)}
    assert body["data"]["content"] == "Quero trocar o tamanho" and body["data"]["channel"] == "api"
    delivery = WebhookDelivery.all_objects.get(endpoint=endpoint, event="message.received")
    assert headers["webhook-id"] == str(delivery.public_id)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.attempts == 1
    assert delivery.response_status == 200 and delivery.response_excerpt == "ok" and delivery.latency_ms is not None
    # A forged body does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(receiver.received[0].body + b" ", receiver.received[0].headers)


def test_an_agents_reply_and_its_status_are_sent_and_notes_are_not(acme, member, receiver,
                                                                   django_capture_on_commit_callbacks):
    from conversations.services import message_send

    channel = factories.ChannelFactory(tenant=acme, kind="api", name="CRM")
    agent = member(acme, Role.AGENT, channels=(channel,))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    _endpoint(acme, receiver, events=("message.created", "message.status_changed", "message.received"))

    with django_capture_on_commit_callbacks(execute=True):
        message_send(conversation=conversation, actor=agent.user, content="Claro!")
        message_send(conversation=conversation, actor=agent.user, content="nota interna", private=True)

    bodies = [request.json() for request in receiver.received]
    assert [body["event"] for body in bodies] == ["message.created", "message.status_changed"]
    assert bodies[0]["data"]["sender"] == {"type": "agent", "id": str(agent.user.public_id)}
    assert bodies[1]["data"]["status"] == "SENT"


def test_a_tenant_without_endpoints_or_subscription_gets_no_delivery(acme, globex, member, receiver,
                                                                     django_capture_on_commit_callbacks):
    from conversations.services import message_send

    channel = factories.ChannelFactory(tenant=acme, kind="api")
    agent = member(acme, Role.AGENT, channels=(channel,))
    _endpoint(globex, receiver, events=("message.created",))
    _endpoint(acme, receiver, events=("contact.updated",))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)

    with django_capture_on_commit_callbacks(execute=True):
        message_send(conversation=conversation, actor=agent.user, content="Oi")

    assert WebhookDelivery.all_objects.count() == 0 and receiver.received == []


def test_a_rotated_secret_signs_next_to_the_new_one_for_a_day(acme, receiver):
    endpoint, old = _endpoint(acme, receiver)

    new = webhook_secret_rotate(tenant=acme, actor=None, endpoint=endpoint)
    webhook_test_send(endpoint=endpoint)
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    request = receiver.received[-1]
    assert Webhook(old).verify(request.body, request.headers)["event"] == "webhook.test"
    assert Webhook(new).verify(request.body, request.headers)["event"] == "webhook.test"
    assert len(request.headers["webhook-signature"].split(" ")) == 2

    endpoint.refresh_from_db()
    from webhooks.services import signing_secrets

    assert signing_secrets(endpoint, now=endpoint.previous_secret_expires_at + dt.timedelta(seconds=1)) == [new]


# --- Retries ---------------------------------------------------------------------------------

def test_5xx_is_retried_with_doubling_delays_then_given_up_after_3_days(acme, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 1000
    receiver.answers(Answer(status=503))
    endpoint, _ = _endpoint(acme, receiver)
    delivery = _delivery(endpoint)

    now, delays = T0, []
    while True:
        webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=now)
        delivery.refresh_from_db()
        if delivery.status != WebhookDelivery.Status.PENDING:
            break
        delays.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at

    assert delivery.status == WebhookDelivery.Status.GAVE_UP
    assert len(receiver.received) == delivery.attempts == len(delays) + 1
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72 and 96 <= delays[2] <= 144  # 30 s doubling, ±20 %
    assert max(delays) <= 6 * 3600 * 1.2
    assert now - T0 <= dt.timedelta(hours=72) < now + dt.timedelta(seconds=6 * 3600 * 1.2) - T0
    # Each attempt is a new signature over the same webhook-id.
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 1


@pytest.mark.parametrize("status,retried", [(400, False), (401, False), (404, False), (410, False), (422, False),
                                            (408, True), (429, True), (500, True), (502, True)])
def test_4xx_other_than_408_and_429_is_not_retried(acme, receiver, status, retried):
    receiver.answers(Answer(status=status, body=b"nope"))
    endpoint, _ = _endpoint(acme, receiver)
    delivery = _delivery(endpoint)

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)

    delivery.refresh_from_db()
    assert delivery.response_status == status and delivery.response_excerpt == "nope"
    if retried:
        assert delivery.status == WebhookDelivery.Status.PENDING and delivery.next_attempt_at > T0
    else:
        assert delivery.status == WebhookDelivery.Status.FAILED and delivery.next_attempt_at is None
    assert len(receiver.received) == 1


def test_429_retry_after_is_honoured(acme, receiver):
    receiver.answers(Answer(status=429, headers={"Retry-After": "120"}), Answer(status=200))
    endpoint, _ = _endpoint(acme, receiver)
    delivery = _delivery(endpoint)

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=120)

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0 + dt.timedelta(seconds=119))
    assert len(receiver.received) == 1  # not before
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0 + dt.timedelta(seconds=120))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.attempts == 2


def test_a_timeout_is_retried(acme, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.2
    receiver.answers(Answer(delay=0.5))
    endpoint, _ = _endpoint(acme, receiver)
    delivery = _delivery(endpoint)

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.error == "timed out"
    assert delivery.response_status is None and delivery.next_attempt_at > T0


def test_redirects_are_not_followed_and_answers_are_read_up_to_4_kb(acme, receiver):
    receiver.answers(Answer(status=302, headers={"Location": "http://169.254.169.254/"}))
    endpoint, _ = _endpoint(acme, receiver)
    redirected = _delivery(endpoint)
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)
    redirected.refresh_from_db()
    assert redirected.status == WebhookDelivery.Status.FAILED and "redirect" in redirected.error
    assert len(receiver.received) == 1

    receiver.answers(Answer(status=200, body=b"x" * 100_000))
    big = _delivery(endpoint)
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)
    big.refresh_from_db()
    assert big.status == WebhookDelivery.Status.SUCCEEDED and len(big.response_excerpt) == 4096


def test_a_waiting_delivery_holds_back_its_conversation_only(acme, receiver):
    first_a = []

    def answer(request):
        if request.json()["data"]["n"] == "A" and not first_a:
            first_a.append(request)
            return Answer(status=503)
        return Answer(status=200)

    receiver.answer = answer
    endpoint, _ = _endpoint(acme, receiver)
    a1, b1, a2 = _delivery(endpoint, key="A"), _delivery(endpoint, key="B"), _delivery(endpoint, key="A")

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)

    for row in (a1, b1, a2):
        row.refresh_from_db()
    assert (a1.status, b1.status, a2.status) == ("pending", "succeeded", "pending")
    assert a2.attempts == 0  # held back, never sent ahead of a1

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=a1.next_attempt_at)

    # Conversations go out side by side: the order that counts is within each one.
    def sent(key):
        return [r.headers["webhook-id"] for r in receiver.received if r.json()["data"]["n"] == key]

    assert sent("A") == [str(a1.public_id), str(a1.public_id), str(a2.public_id)]
    assert sent("B") == [str(b1.public_id)]


# --- Disable after a day, notify, enable and replay --------------------------------------------

def test_with_the_disabled_endpoint_alert_on_its_admins_get_one_email_the_alerts(
        acme, member, receiver, mailoutbox, django_capture_on_commit_callbacks, settings):
    from integrations.monitoring.alerts import alert_defaults_ensure, alerts_evaluate

    settings.LANGUAGE_CODE = "en"
    admin = member(acme, Role.TENANT_ADMIN, language="en")
    alert_defaults_ensure(tenant_ids=[acme.pk])  # the "webhook endpoint disabled" rule is on by default
    receiver.answers(Answer(status=500))
    endpoint, _ = _endpoint(acme, receiver, actor=admin.user)
    _delivery(endpoint, key="A")

    with django_capture_on_commit_callbacks(execute=True):
        for hours in (0, 24.1):
            webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0 + dt.timedelta(hours=hours))
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert mailoutbox == []  # not the webhooks' own email: the alert tells them
        assert alerts_evaluate(tenant_ids=[acme.pk]).opened == 1

    assert [mail.to for mail in mailoutbox] == [[admin.user.email]]
    assert endpoint.url in mailoutbox[0].subject and "replayed" in mailoutbox[0].body


def test_an_endpoint_failing_for_a_day_is_disabled_its_admins_told_and_replayed_on_enable(
        acme, member, api, receiver, mailoutbox, django_capture_on_commit_callbacks):
    admin = member(acme, Role.TENANT_ADMIN)
    member(acme, Role.AGENT)
    receiver.answers(Answer(status=500))
    endpoint, _ = _endpoint(acme, receiver, actor=admin.user)
    first = _delivery(endpoint, key="A")

    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)
        endpoint.refresh_from_db()
        assert endpoint.is_active and endpoint.failing_since == T0
        webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0 + dt.timedelta(hours=23))
        endpoint.refresh_from_db()
        assert endpoint.is_active
        webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0 + dt.timedelta(hours=24, minutes=5))

    endpoint.refresh_from_db()
    first.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert first.status == WebhookDelivery.Status.SKIPPED
    assert [mail.to for mail in mailoutbox] == [[admin.user.email]]
    assert endpoint.url in mailoutbox[0].subject and "/settings/webhooks/" in mailoutbox[0].body
    assert AuditEntry.all_objects.filter(tenant=acme, action="webhook.disabled").count() == 1

    # While disabled, events are kept, not sent.
    from conversations.events import MessageCreated
    from webhooks.services import webhook_deliveries_create

    channel = factories.ChannelFactory(tenant=acme, kind="api")
    message = factories.MessageFactory(conversation=factories.ConversationFactory(tenant=acme, channel=channel),
                                       direction="INBOUND", sender_type="CONTACT", content="perdida")
    event = MessageCreated(tenant_pk=acme.pk, event_id="e-1", message_pk=message.pk,
                           conversation_pk=message.conversation_id, channel_pk=channel.pk,
                           message_id=str(message.public_id), conversation_id=str(message.conversation.public_id),
                           channel_id=str(channel.public_id), direction="INBOUND", private=False)
    assert webhook_deliveries_create([event]) == []
    sent_before = len(receiver.received)
    missed = WebhookDelivery.all_objects.get(endpoint=endpoint, event="message.received", event_id="e-1")
    assert missed.status == WebhookDelivery.Status.SKIPPED and len(receiver.received) == sent_before

    receiver.answers(Answer(status=204, body=b""))
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(admin).post(f"/api/v1/webhooks/{endpoint.public_id}/enable", {"replay_missed": True},
                                 format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["replayed"] == 2 and answer.json()["webhook"]["is_active"] is True
    assert sorted(r.json()["data"].get("content", r.json()["data"].get("n"))
                  for r in receiver.received[sent_before:]) == ["A", "perdida"]  # two conversations: side by side
    assert set(WebhookDelivery.all_objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {
        "succeeded"}
    assert AuditEntry.all_objects.filter(tenant=acme, action="webhook.enabled").count() == 1


def test_old_deliveries_are_deleted_after_the_kept_days(acme, receiver, settings):
    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 30
    endpoint, _ = _endpoint(acme, receiver)
    old = _delivery(endpoint, at=T0 - dt.timedelta(days=31))
    recent = _delivery(endpoint, at=T0 - dt.timedelta(days=29))

    assert webhook_deliveries_purge(now=T0) == 1

    assert list(WebhookDelivery.all_objects.values_list("pk", flat=True)) == [recent.pk]
    assert not WebhookDelivery.all_objects.filter(pk=old.pk).exists()
    assert WebhookEndpoint.all_objects.filter(pk=endpoint.pk).exists()


def test_the_sweep_sends_due_retries(acme, receiver):
    from webhooks.tasks import webhook_deliveries_sweep

    receiver.answers(Answer(status=200))
    endpoint, _ = _endpoint(acme, receiver)
    delivery = _delivery(endpoint)
    WebhookDelivery.all_objects.filter(pk=delivery.pk).update(next_attempt_at=T0)  # due long ago

    assert webhook_deliveries_sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and len(receiver.received) == 1
