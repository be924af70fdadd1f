"""The integrations health counters (integrations.monitoring.counters): what a channel received
and sent, its failures by code and the provider's latency, added up per five minutes as the
work happens (never counted from the messages table)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Message
from conversations.services import message_send
from integrations.inbound.process import webhook_events_process_now
from integrations.models import ActivityError, ActivitySlot, WebhookEvent
from integrations.monitoring.counters import Tally, activity_prune, slot_of
from integrations.outbound.send import message_deliver_now
from tests import factories
from tests.integrations.whatsapp_cloud.conftest import FIXTURES, fixture_bytes, pending_reply

pytestmark = pytest.mark.django_db

CHANNEL = ActivitySlot.Subject.CHANNEL


def _totals(channel) -> dict[str, int]:
    rows = ActivitySlot.all_objects.filter(subject_kind=CHANNEL, subject_id=channel.pk)
    return {name: sum(getattr(row, name) for row in rows)
            for name in ("received", "attempted", "failed", "latency_count")}


def _stored(channel, index: int) -> WebhookEvent:
    payload = json.loads((FIXTURES / "inbound-text.json").read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.COUNT{index:03d}"
    return WebhookEvent.all_objects.create(tenant_id=channel.tenant_id, channel=channel, body=json.dumps(payload))


def test_a_slot_is_the_five_minutes_a_moment_falls_in():
    at = dt.datetime(2026, 12, 5, 14, 7, 31, 120, tzinfo=dt.timezone(dt.timedelta(hours=-3)))

    assert slot_of(at) == dt.datetime(2026, 12, 5, 17, 5, tzinfo=dt.UTC)


def test_inbound_messages_from_the_providers_webhook_are_counted_with_the_last_arrival(
        whatsapp, post_webhook, django_capture_on_commit_callbacks):
    other = factories.ChannelFactory(tenant=whatsapp.tenant, kind="api")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, fixture_bytes("inbound-text.json"))
    assert response.status_code == 200

    assert Message.all_objects.filter(channel=whatsapp).count() == 1
    assert _totals(whatsapp) == {"received": 1, "attempted": 0, "failed": 0, "latency_count": 0}
    assert ActivitySlot.all_objects.get(subject_id=whatsapp.pk).last_received_at is not None
    assert _totals(other)["received"] == 0


def test_a_batch_of_messages_is_added_in_one_statement(whatsapp, django_capture_on_commit_callbacks):
    events = [_stored(whatsapp, index) for index in range(30)]

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        webhook_events_process_now(event_ids=[event.pk for event in events])

    table = ActivitySlot._meta.db_table
    assert len([query for query in queries if table in query["sql"]]) == 1
    assert _totals(whatsapp)["received"] == 30


def test_a_sent_reply_counts_as_attempted_with_the_providers_latency(graph, conversation):
    reply = pending_reply(conversation)

    assert message_deliver_now(message_id=reply.pk).status == "sent"

    assert _totals(conversation.channel) == {"received": 0, "attempted": 1, "failed": 0, "latency_count": 1}
    assert not ActivityError.all_objects.exists()


def test_a_refused_reply_counts_as_failed_under_the_providers_code(graph, conversation, agent,
                                                                   django_capture_on_commit_callbacks):
    graph.fail_next(1, code=131026)  # message undeliverable: permanent

    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = message_send(conversation=conversation, actor=agent, content="Olá")

    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert _totals(conversation.channel)["attempted"] == 1 and _totals(conversation.channel)["failed"] == 1
    error = ActivityError.all_objects.get()
    assert (error.subject_id, error.code, error.count) == (conversation.channel.pk, reply.error_code, 1)


def test_writers_add_to_the_same_slot(whatsapp):
    for _ in range(3):
        tally = Tally()
        tally.add(kind=CHANNEL, subject_pk=whatsapp.pk, tenant_pk=whatsapp.tenant_id, attempted=2, failed=1,
                  error_code="131047", latency_ms=100)
        tally.save()

    slot = ActivitySlot.all_objects.get()
    assert (slot.attempted, slot.failed, slot.latency_ms_total, slot.latency_count) == (6, 3, 300, 3)
    assert ActivityError.all_objects.get().count == 3


def test_old_counters_are_pruned(whatsapp):
    tally = Tally()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    tally.add(kind=CHANNEL, subject_pk=whatsapp.pk, tenant_pk=whatsapp.tenant_id, at=long_ago, failed=1,
              error_code="x")
    tally.add(kind=CHANNEL, subject_pk=whatsapp.pk, tenant_pk=whatsapp.tenant_id, received=1)
    tally.save()

    assert activity_prune(older_than=dt.timedelta(days=35)) == 2
    assert ActivitySlot.all_objects.count() == 1 and not ActivityError.all_objects.exists()


def test_a_template_sent_counts_against_metas_daily_tier_on_the_health_page(graph, conversation, member):
    from accounts.access import TenantAccess
    from integrations.monitoring.figures import integrations_health
    from tenants.scoping import tenant_context

    channel = conversation.channel
    channel.config["messaging_limit_tier"] = "TIER_1K"
    channel.save()
    for content in ("", "Olá"):
        reply = pending_reply(conversation, content=content)
        if not content:
            Message.all_objects.filter(pk=reply.pk).update(
                type=Message.Type.TEMPLATE,
                content_attributes={"template": {"name": "hello_world", "language": "en_US", "parameters": []}})
        assert message_deliver_now(message_id=reply.pk).status == "sent"

    admin = member(channel.tenant, "TENANT_ADMIN")
    with tenant_context(channel.tenant):
        health = integrations_health(access=TenantAccess(tenant=channel.tenant, user=admin.user,
                                                         role=admin.role))
    (figures,) = health.channels
    assert (figures.attempted, figures.business_initiated.used, figures.business_initiated.limit) == (2, 1, 1000)
    assert figures.business_initiated.percent == 0.1
