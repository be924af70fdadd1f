"""Ban-aware sending: a channel paced by its provider (or its config) sends one reply at a time,
a random gap after the one before, across processes; and a tenant's daily cap on a number ends
the replies past it as FAILED, saying why, without calling the provider."""

from __future__ import annotations

import time

import pytest

from channels_app.models import Channel
from config.cache import pace_take
from conversations.models import Message
from integrations.outbound.send import message_deliver_now
from tests.integrations.whatsapp_cloud.conftest import pending_reply

pytestmark = pytest.mark.django_db


def test_turns_are_booked_one_gap_after_another():
    key = f"pace:test:{time.time()}"
    waits = [pace_take(key, 0.5) for _ in range(3)]

    assert waits[0] < 0.01
    assert 0.4 < waits[1] <= 0.5 and 0.9 < waits[2] <= 1.0


def test_a_paced_channel_waits_its_turn_between_sends(graph, conversation):
    Channel.all_objects.filter(pk=conversation.channel_id).update(
        config={**conversation.channel.config, "send_pacing_seconds": [0.3, 0.3]})
    replies = [pending_reply(conversation, content=f"r{index}") for index in range(3)]

    started = time.monotonic()
    outcomes = [message_deliver_now(message_id=reply.pk) for reply in replies]
    elapsed = time.monotonic() - started

    assert [outcome.status for outcome in outcomes] == ["sent"] * 3
    assert elapsed >= 0.55  # two gaps of 0.3 s between three sends
    assert sum(outcome.waited for outcome in outcomes) > 0  # the pacing did the waiting (a slow send waits less)


def test_replies_past_the_daily_cap_fail_and_say_why(graph, conversation):
    Channel.all_objects.filter(pk=conversation.channel_id).update(
        config={**conversation.channel.config, "daily_send_cap": 2})
    replies = [pending_reply(conversation, content=f"r{index}") for index in range(3)]

    outcomes = [message_deliver_now(message_id=reply.pk).status for reply in replies]

    assert outcomes == ["sent", "sent", "failed"]
    assert len(graph.sent) == 2  # the provider never saw the third
    third = Message.all_objects.get(pk=replies[2].pk)
    assert third.status == Message.Status.FAILED and third.error_code == "daily_send_cap_reached"
    assert "daily limit" in third.error_message


def test_a_pacing_of_zero_is_no_pacing(conversation):
    """[0, 0] in a channel's config turns its kind's pacing off: no turn booked, helpers allowed."""
    from integrations.registry import adapter_for

    channel = conversation.channel
    channel.config = {**channel.config, "send_pacing_seconds": [0, 0]}
    assert adapter_for(channel).send_pacing_seconds is None
    channel.config = {**channel.config, "send_pacing_seconds": [2, 1]}  # nonsense: the kind's own
    assert adapter_for(channel).send_pacing_seconds == type(adapter_for(channel)).default_send_pacing_seconds
