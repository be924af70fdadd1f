"""Channel senders (integrations.outbound.senders): a task that sends a channel's waiting
replies one after another, queued once for many replies, joined by helpers for a backlog;
each reply claimed and committed before the provider is called, its answer committed after."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conversations.models import Message
from conversations.services import DELIVERY_UNKNOWN, message_send
from integrations import draining
from integrations.maintenance import channels_with_waiting_replies
from integrations.outbound.send import reply_send_next, reply_waiting_sql
from integrations.outbound.senders import channel_senders_run
from integrations.outbound.tasks import channel_deliver, channel_senders_queue
from integrations.whatsapp_cloud.adapter import WhatsAppCloudAdapter
from tests import factories
from tests.concurrency import at_once, concurrent_writers
from tests.integrations.whatsapp_cloud.conftest import pending_reply

pytestmark = pytest.mark.django_db


@dataclass
class Asked:
    """What a running sender asked its task to queue."""

    helpers: list[tuple[int, int]] = field(default_factory=list)
    retries: list[tuple[int, float]] = field(default_factory=list)

    def helper(self, *, channel_id: int, slot: int) -> None:
        self.helpers.append((channel_id, slot))

    def retry(self, *, message_id: int, countdown: float) -> None:
        self.retries.append((message_id, countdown))


def run(channel_id: int, slot: int = 0, helpers: bool = False, asked: Asked | None = None):
    return channel_senders_run(channel_id=channel_id, slot=slot, helpers=helpers, queue=asked or Asked())


@pytest.fixture
def queued(monkeypatch):
    """The senders queued (channel id, slot), instead of running them at once (eager tasks)."""
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(channel_deliver, "delay", lambda *, channel_id, slot=0: calls.append((channel_id, slot)))
    return calls


def _sent_contents(graph) -> list[str]:
    return [record["body"]["text"]["body"] for record in graph.sent]


def test_a_sender_sends_the_channels_waiting_replies_oldest_first(graph, conversation, whatsapp, queued):
    replies = [pending_reply(conversation, content=f"m{n}") for n in range(3)]
    elsewhere = factories.ChannelFactory(tenant=whatsapp.tenant, kind="whatsapp_cloud", config=whatsapp.config,
                                         credentials=whatsapp.credentials)
    other = factories.MessageFactory(conversation=factories.ConversationFactory(
        tenant=whatsapp.tenant, channel=elsewhere, contact=conversation.contact), direction=Message.Direction.OUTBOUND,
        sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING, content="other channel")

    outcomes = run(whatsapp.pk).outcomes

    assert [outcome.status for outcome in outcomes] == ["sent"] * 3
    assert _sent_contents(graph) == ["m0", "m1", "m2"]
    assert {message.status for message in Message.all_objects.filter(pk__in=[r.pk for r in replies])} == {"SENT"}
    assert Message.all_objects.get(pk=other.pk).status == Message.Status.PENDING
    assert queued == []  # nothing left behind: no successor


def test_replies_written_together_queue_one_sender(graph, conversation, agent, queued,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            message_send(conversation=conversation, actor=agent, content=f"m{n}")

    assert queued == [(conversation.channel_id, 0)]  # the sender waits in the queue: the others go with it
    assert channel_senders_queue(channel_id=conversation.channel_id) is False

    run(conversation.channel_id)

    assert _sent_contents(graph) == ["m0", "m1", "m2"]
    assert channel_senders_queue(channel_id=conversation.channel_id) is True  # it ended: the next reply queues one


def test_the_provider_is_called_with_no_transaction_open_and_the_claim_committed(
        graph, transactional_db, conversation, whatsapp, monkeypatch):
    reply = pending_reply(conversation)
    seen: list[tuple[bool, str, bool]] = []
    send = WhatsAppCloudAdapter.send

    def observed(adapter, message):
        claimed = Message.all_objects.get(pk=reply.pk)  # what any other connection sees now
        seen.append((connection.in_atomic_block, claimed.status, claimed.send_lease_until is not None))
        return send(adapter, message)

    monkeypatch.setattr(WhatsAppCloudAdapter, "send", observed)

    assert reply_send_next(whatsapp).status == "sent"
    assert seen == [(False, Message.Status.PENDING, True)]
    reply.refresh_from_db()
    assert (reply.status, reply.send_lease_until) == (Message.Status.SENT, None)


def test_a_reply_whose_sender_died_mid_send_is_delivery_unknown_not_sent_again(graph, conversation, whatsapp,
                                                                                queued, events,
                                                                                django_capture_on_commit_callbacks):
    """Its claim ran out without an answer: the provider may have it."""
    lost = pending_reply(conversation, content="lost")
    Message.all_objects.filter(pk=lost.pk).update(send_lease_until=timezone.now() - timedelta(seconds=1))
    pending_reply(conversation, content="next")

    with django_capture_on_commit_callbacks(execute=True):
        run(whatsapp.pk)

    lost.refresh_from_db()
    assert (lost.status, lost.error_code) == (Message.Status.FAILED, DELIVERY_UNKNOWN)
    assert _sent_contents(graph) == ["next"]
    assert ("message.status_changed", "FAILED") in [(event.name, getattr(event, "status", "")) for event in events]


def test_a_claim_that_still_holds_is_left_alone(graph, conversation, whatsapp, queued):
    sending = pending_reply(conversation, content="in flight")
    Message.all_objects.filter(pk=sending.pk).update(send_lease_until=timezone.now() + timedelta(seconds=20))

    run(whatsapp.pk)

    assert Message.all_objects.get(pk=sending.pk).status == Message.Status.PENDING and graph.sent == []


def test_a_reply_in_its_backoff_is_left_to_its_own_retry(graph, conversation, whatsapp, queued):
    later = pending_reply(conversation, content="later")
    Message.all_objects.filter(pk=later.pk).update(send_attempts=1, send_after=timezone.now() + timedelta(minutes=1))
    pending_reply(conversation, content="now")

    run(whatsapp.pk)

    assert _sent_contents(graph) == ["now"]
    assert Message.all_objects.get(pk=later.pk).status == Message.Status.PENDING
    assert whatsapp.pk not in channels_with_waiting_replies(older_than=timedelta(0))  # nor does the sweep take it


def test_a_temporary_error_puts_the_reply_off_and_the_others_go_on(graph, conversation, whatsapp, queued):
    asked = Asked()
    first, second = pending_reply(conversation, content="first"), pending_reply(conversation, content="second")
    graph.fail_next(1, code=130429)

    outcomes = run(whatsapp.pk, asked=asked).outcomes

    assert [outcome.status for outcome in outcomes] == ["retry", "sent"]
    put_off = Message.all_objects.get(pk=first.pk)
    assert put_off.status == Message.Status.PENDING and put_off.send_attempts == 1
    assert put_off.send_after > timezone.now() and put_off.send_lease_until is None
    assert asked.retries == [(first.pk, outcomes[0].retry_in)]
    assert Message.all_objects.get(pk=second.pk).status == Message.Status.SENT


def test_a_reply_stored_while_the_sender_ends_is_still_sent(graph, conversation, whatsapp, queued, monkeypatch):
    """The reply's own queueing found the lease still held; sender 0 looks again after it let
    the lease go, and sends it."""
    pending_reply(conversation, content="first")
    released = []
    real_mark_delete = draining.mark_delete

    def mark_delete(key: str) -> None:
        if not released:  # the reply lands just before the sender lets its lease go: it queues no sender
            pending_reply(conversation, content="just in time")
            assert channel_senders_queue(channel_id=whatsapp.pk) is False
        released.append(key)
        real_mark_delete(key)

    monkeypatch.setattr(draining, "mark_delete", mark_delete)

    run(whatsapp.pk)

    assert _sent_contents(graph) == ["first", "just in time"]
    assert queued == []


def test_a_backlog_brings_in_the_next_sender(graph, conversation, whatsapp, settings):
    settings.OUTBOUND_SENDERS_PER_CHANNEL = 2
    asked = Asked()
    for n in range(3):
        pending_reply(conversation, content=f"m{n}")

    run(whatsapp.pk, slot=0, helpers=True, asked=asked)

    assert asked.helpers == [(whatsapp.pk, 1)]  # once, after the first reply, as more waited
    pending_reply(conversation, content="last")
    last = Asked()
    run(whatsapp.pk, slot=1, helpers=True, asked=last)
    assert last.helpers == []  # the last slot brings in no one


def test_a_sender_waiting_for_the_throughput_cap_brings_in_no_helper(graph, conversation, whatsapp):
    asked = Asked()
    for n in range(3):
        pending_reply(conversation, content=f"m{n}")
    waits = iter([0.01, 0, 0.01, 0, 0.01, 0])

    with mock.patch("integrations.outbound.send.throughput_acquire", lambda **kwargs: next(waits, 0)):
        run(whatsapp.pk, helpers=True, asked=asked)

    assert len(graph.sent) == 3 and asked.helpers == []


def test_a_sender_hands_its_turn_to_a_successor_when_its_time_is_up(graph, conversation, whatsapp, queued,
                                                                      settings):
    settings.OUTBOUND_SENDER_SECONDS = 0
    settings.OUTBOUND_SENDERS_PER_CHANNEL = 1
    for n in range(3):
        pending_reply(conversation, content=f"m{n}")

    channel_deliver.run(channel_id=whatsapp.pk)

    assert Message.all_objects.filter(status=Message.Status.SENT).count() == 1  # one reply, then its turn ends
    assert queued == [(whatsapp.pk, 0)]
    assert Message.all_objects.filter(status=Message.Status.PENDING).count() == 2


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                    reason="a PostgreSQL plan (CI runs it: .ci/run sets DATABASE_URL)")
def test_the_waiting_replies_read_uses_its_partial_index(graph, conversation, whatsapp):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT 1 FROM conversations_message m WHERE m.channel_id = %s "
                       f"AND {reply_waiting_sql('m')} ORDER BY m.id LIMIT 1", [whatsapp.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "msg_outbound_waiting" in plan


@concurrent_writers
def test_senders_at_once_send_each_reply_exactly_once(graph, conversation, whatsapp, queued):
    replies = [pending_reply(conversation, content=f"m{n}") for n in range(24)]

    results = at_once([lambda slot=slot: run(whatsapp.pk, slot=slot) for slot in range(4)])

    assert sum(len(result.outcomes) for result in results) == 24
    assert sorted(_sent_contents(graph)) == sorted(f"m{n}" for n in range(24))
    assert set(Message.all_objects.filter(pk__in=[r.pk for r in replies]).values_list("status", flat=True)) == {"SENT"}


def test_a_failing_sender_lets_its_lease_go(graph, conversation, whatsapp, queued):
    pending_reply(conversation)
    channel_senders_queue(channel_id=whatsapp.pk)

    with mock.patch("integrations.outbound.senders.reply_send_next", side_effect=ZeroDivisionError), \
            pytest.raises(ZeroDivisionError):
        run(whatsapp.pk)

    assert channel_senders_queue(channel_id=whatsapp.pk) is True  # while it waits for its retry, another goes
