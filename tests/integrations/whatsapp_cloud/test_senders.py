"""Channel senders: a task that sends a channel's waiting replies one after another, queued
once for many replies, joined by helpers for a backlog (integrations.outbound)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conversations.models import Message
from conversations.services import message_send
from integrations import outbound
from integrations.maintenance import messages_stuck
from integrations.outbound import channel_deliver_now, channel_senders_queue
from integrations.tasks import channel_deliver, message_deliver
from tests import factories
from tests.concurrency import at_once, concurrent_writers
from tests.integrations.whatsapp_cloud.conftest import pending_reply

pytestmark = pytest.mark.django_db


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

    outcomes = channel_deliver_now(channel_id=whatsapp.pk, helpers=False)

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

    channel_deliver_now(channel_id=conversation.channel_id, helpers=False)

    assert _sent_contents(graph) == ["m0", "m1", "m2"]
    assert channel_senders_queue(channel_id=conversation.channel_id) is True  # it ended: the next reply queues one


def test_a_reply_in_its_backoff_is_left_to_its_own_retry(graph, conversation, whatsapp, queued):
    later = pending_reply(conversation, content="later")
    Message.all_objects.filter(pk=later.pk).update(send_attempts=1, send_after=timezone.now() + timedelta(minutes=1))
    pending_reply(conversation, content="now")

    channel_deliver_now(channel_id=whatsapp.pk, helpers=False)

    assert _sent_contents(graph) == ["now"]
    assert Message.all_objects.get(pk=later.pk).status == Message.Status.PENDING
    assert later.pk not in messages_stuck()  # nor does the sweep take it early


def test_a_temporary_error_puts_the_reply_off_and_the_others_go_on(graph, conversation, whatsapp, queued,
                                                                     monkeypatch):
    retries = []
    monkeypatch.setattr(message_deliver, "apply_async", lambda *, kwargs, countdown: retries.append(
        (kwargs["message_id"], countdown)))
    first, second = pending_reply(conversation, content="first"), pending_reply(conversation, content="second")
    graph.fail_next(1, code=130429)

    outcomes = channel_deliver_now(channel_id=whatsapp.pk, helpers=False)

    assert [outcome.status for outcome in outcomes] == ["retry", "sent"]
    put_off = Message.all_objects.get(pk=first.pk)
    assert put_off.status == Message.Status.PENDING and put_off.send_attempts == 1
    assert put_off.send_after > timezone.now()
    assert retries == [(first.pk, outcomes[0].retry_in)]
    assert Message.all_objects.get(pk=second.pk).status == Message.Status.SENT


def test_a_reply_stored_while_the_sender_ends_is_still_sent(graph, conversation, whatsapp, queued, monkeypatch):
    """The reply's own queueing found the mark still held; sender 0 looks again after it let
    the mark go, and sends it."""
    pending_reply(conversation, content="first")
    released = []
    real_mark_delete = outbound.mark_delete

    def mark_delete(key: str) -> None:
        if not released:  # the reply lands just before the sender lets its mark go: it queues no sender
            pending_reply(conversation, content="just in time")
            assert channel_senders_queue(channel_id=whatsapp.pk) is False
        released.append(key)
        real_mark_delete(key)

    monkeypatch.setattr(outbound, "mark_delete", mark_delete)

    channel_deliver_now(channel_id=whatsapp.pk, helpers=False)

    assert _sent_contents(graph) == ["first", "just in time"]
    assert queued == []


def test_a_backlog_brings_in_the_next_sender(graph, conversation, whatsapp, queued, settings):
    settings.OUTBOUND_SENDERS_PER_CHANNEL = 2
    for n in range(3):
        pending_reply(conversation, content=f"m{n}")

    channel_deliver_now(channel_id=whatsapp.pk, slot=0)

    assert queued == [(whatsapp.pk, 1)]  # once, after the first reply, as more waited
    queued.clear()
    pending_reply(conversation, content="last")
    channel_deliver_now(channel_id=whatsapp.pk, slot=1)
    assert queued == []  # the last slot brings in no one


def test_a_sender_waiting_for_the_throughput_cap_brings_in_no_helper(graph, conversation, whatsapp, queued,
                                                                     monkeypatch):
    monkeypatch.setattr(outbound, "_wait_for_a_send_slot", lambda channel: 0.05)
    for n in range(3):
        pending_reply(conversation, content=f"m{n}")

    channel_deliver_now(channel_id=whatsapp.pk)

    assert len(graph.sent) == 3 and queued == []


def test_a_sender_hands_its_turn_to_a_successor_when_its_time_is_up(graph, conversation, whatsapp, queued,
                                                                      settings):
    settings.OUTBOUND_SENDER_SECONDS = 0
    for n in range(3):
        pending_reply(conversation, content=f"m{n}")

    outcomes = channel_deliver_now(channel_id=whatsapp.pk, helpers=False)

    assert [outcome.status for outcome in outcomes] == ["sent"]  # one reply at least, then its turn ends
    assert queued == [(whatsapp.pk, 0)]
    assert Message.all_objects.filter(status=Message.Status.PENDING).count() == 2


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                    reason="a PostgreSQL plan (CI runs it: .ci/run sets DATABASE_URL)")
def test_the_waiting_replies_read_uses_its_partial_index(graph, conversation, whatsapp):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT 1 FROM conversations_message m WHERE m.channel_id = %s AND {outbound._WAITING} "
                       f"ORDER BY m.id LIMIT 1", [whatsapp.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "msg_outbound_waiting" in plan


@concurrent_writers
def test_senders_at_once_send_each_reply_exactly_once(graph, conversation, whatsapp, queued):
    replies = [pending_reply(conversation, content=f"m{n}") for n in range(24)]

    results = at_once([lambda slot=slot: channel_deliver_now(channel_id=whatsapp.pk, slot=slot, helpers=False)
                       for slot in range(4)])

    assert sum(len(outcomes) for outcomes in results) == 24
    assert sorted(_sent_contents(graph)) == sorted(f"m{n}" for n in range(24))
    assert set(Message.all_objects.filter(pk__in=[r.pk for r in replies]).values_list("status", flat=True)) == {"SENT"}


def test_a_failing_sender_lets_its_mark_go(graph, conversation, whatsapp, queued, monkeypatch):
    pending_reply(conversation)
    channel_senders_queue(channel_id=whatsapp.pk)
    monkeypatch.setattr(outbound, "_next_waiting", lambda channel, more: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        channel_deliver_now(channel_id=whatsapp.pk)

    assert channel_senders_queue(channel_id=whatsapp.pk) is True  # while it waits for its retry, another goes
