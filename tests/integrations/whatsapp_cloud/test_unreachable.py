"""A provider that cannot be reached: the reply says at once that it is not going out and
why, the channel stops saying "connected", and both recover when a send gets through."""

from __future__ import annotations

import socket

import pytest

from channels_app.models import Channel
from conversations.models import Message
from integrations.outbound.send import message_deliver_now
from tests.concurrency import wait_for
from tests.integrations.whatsapp_cloud.conftest import pending_reply

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def test_an_unreachable_provider_shows_on_the_reply_and_the_channel_until_a_send_gets_through(
        graph, conversation, settings, events, django_capture_on_commit_callbacks):
    reply = pending_reply(conversation)
    working_url = settings.WHATSAPP_GRAPH_API_URL
    settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{_closed_port()}"

    with django_capture_on_commit_callbacks(execute=True):
        outcome = message_deliver_now(message_id=reply.pk)

    reply.refresh_from_db()
    channel = Channel.all_objects.get(pk=conversation.channel_id)
    assert outcome.status == "retry"
    assert reply.status == Message.Status.PENDING  # it will be tried again...
    assert reply.error_code == "connection" and "could not be reached" in reply.error_message  # ...and says why
    assert ("message.updated", str(reply.public_id)) in [(e.name, getattr(e, "message_id", None)) for e in events]
    assert channel.status == Channel.Status.ERROR and "could not be reached" in channel.status_detail
    assert "channel.status_changed" in [event.name for event in events]

    settings.WHATSAPP_GRAPH_API_URL = working_url
    with django_capture_on_commit_callbacks(execute=True):
        assert message_deliver_now(message_id=reply.pk).status == "sent"

    reply.refresh_from_db()
    channel.refresh_from_db()
    assert reply.status == Message.Status.SENT and reply.error_code == "" and reply.error_message == ""
    assert channel.status == Channel.Status.CONNECTED and channel.status_detail == ""


def test_a_disconnected_channel_is_not_called_in_error_by_a_failed_send(graph, conversation, settings):
    Channel.all_objects.filter(pk=conversation.channel_id).update(status=Channel.Status.DISCONNECTED)
    reply = pending_reply(conversation)
    settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{_closed_port()}"

    message_deliver_now(message_id=reply.pk)

    assert Channel.all_objects.get(pk=conversation.channel_id).status == Channel.Status.DISCONNECTED


@pytest.mark.django_db(transaction=True)
def test_a_reply_whose_provider_was_away_goes_out_after_its_backoff_by_itself(embedded_scheduler, graph, conversation,
                                                                                 settings, member):
    """The embedded default (eager tasks): the retry waits for its backoff on the embedded
    scheduler (config.embedded), and nothing else has to happen in the inbox."""
    from accounts.models import Role
    from conversations.services import message_send

    agent = member(conversation.tenant, Role.AGENT, channels=(conversation.channel,)).user
    working = settings.WHATSAPP_GRAPH_API_URL
    settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{_closed_port()}"

    reply, _ = message_send(conversation=conversation, actor=agent, content="Já verifico!")

    reply.refresh_from_db()
    assert reply.status == Message.Status.PENDING and reply.error_code == "connection"  # says why, at once
    settings.WHATSAPP_GRAPH_API_URL = working  # the provider is back; nothing else happens in the inbox

    assert wait_for(lambda: Message.all_objects.get(pk=reply.pk).status == Message.Status.SENT, 20)
    assert len(graph.sent) == 1
