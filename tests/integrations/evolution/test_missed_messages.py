"""Nothing lost across a disconnection: when a channel paired by QR code is CONNECTED again, the
messages its provider kept meanwhile whose webhooks never came (Evolution: POST
/chat/findMessages, since the contact's last message stored on the channel) are stored through
the receive path, once, however often the channel comes back; bounded, retried when the server
is in trouble. Against the simulator, its webhooks through a live server."""

from __future__ import annotations

import json
import logging
import time

import pytest

from channels_app.models import Channel
from conversations.models import Conversation, Message
from integrations.base import ProviderTemporaryError
from integrations.evolution.adapter import WhatsAppEvolutionAdapter
from integrations.evolution.simulator import EvolutionSimulator
from integrations.inbound.tasks import missed_messages_fetch
from tests.integrations.evolution.conftest import (
    BUSINESS,
    CUSTOMER,
    INSTANCE,
    INSTANCE_TOKEN,
    WEBHOOK_SECRET,
    fixture_json,
)

pytestmark = pytest.mark.django_db(transaction=True)
OTHER = "15555550124"  # a customer who never wrote before


@pytest.fixture
def simulator(live_server, settings, evolution_channel):
    webhook_url = f"{live_server.url}/webhooks/whatsapp_evolution/{evolution_channel.webhook_token}"
    with EvolutionSimulator(status_progression=()) as simulator:
        simulator.add_instance(INSTANCE, token=INSTANCE_TOKEN, state="open", phone=BUSINESS, webhook_url=webhook_url,
                               webhook_headers={"x-inbox-webhook-secret": WEBHOOK_SECRET})
        settings.EVOLUTION_API_URL = simulator.base_url
        yield simulator


def _status(channel) -> str:
    channel.refresh_from_db()
    return channel.status


def _finds(simulator) -> list[dict]:
    return [request for request in simulator.requests if request["path"].startswith("/chat/findMessages/")]


def _disconnect(simulator, channel) -> None:
    simulator.close(INSTANCE, 408)
    assert simulator.wait_for_webhooks(10) and _status(channel) == Channel.Status.DISCONNECTED


def _reconnect(simulator, channel) -> None:
    simulator.scan(INSTANCE, BUSINESS)
    assert simulator.wait_for_webhooks(10) and _status(channel) == Channel.Status.CONNECTED


def test_messages_that_came_while_disconnected_are_stored_once(simulator, evolution_channel):
    first = simulator.inbound_text(INSTANCE, CUSTOMER, "Oi, bom dia")
    assert simulator.wait_for_webhooks(10)
    _disconnect(simulator, evolution_channel)

    lost = [simulator.inbound_text(INSTANCE, CUSTOMER, f"Perdida {n}", lost=True) for n in range(3)]
    newcomer = simulator.inbound_text(INSTANCE, OTHER, "Vocês abrem sábado?", push_name="Rui", lost=True)
    assert not Message.all_objects.filter(provider_message_id__in=[*lost, newcomer]).exists()
    assert _finds(simulator) == []  # nothing asked while disconnected

    _reconnect(simulator, evolution_channel)

    stored = Message.all_objects.filter(channel=evolution_channel)
    assert sorted(stored.values_list("provider_message_id", flat=True)) == sorted([first, *lost, newcomer])
    assert sorted(stored.filter(provider_message_id__in=lost).values_list("content", flat=True)) == [
        "Perdida 0", "Perdida 1", "Perdida 2"]
    (asked,) = _finds(simulator)
    body = json.loads(asked["body"])
    assert set(body["where"]["messageTimestamp"]) == {"gte", "lte"} and body["page"] == 1
    rui = Conversation.all_objects.get(contact__identities__external_id=OTHER)
    assert (rui.contact.name, rui.unread_count, rui.last_message_preview) == ("Rui", 1, "Vocês abrem sábado?")
    assert Conversation.all_objects.get(contact__identities__external_id=CUSTOMER).unread_count == 4

    # Gone and back again: asked again, nothing stored twice.
    _disconnect(simulator, evolution_channel)
    _reconnect(simulator, evolution_channel)

    assert len(_finds(simulator)) == 2
    assert Message.all_objects.filter(channel=evolution_channel).count() == 5
    assert Conversation.all_objects.get(contact__identities__external_id=CUSTOMER).unread_count == 4


def test_a_channel_that_never_received_anything_asks_nothing(simulator, evolution_channel):
    _disconnect(simulator, evolution_channel)
    simulator.inbound_text(INSTANCE, CUSTOMER, "Antes de tudo", lost=True)

    _reconnect(simulator, evolution_channel)

    assert _finds(simulator) == [] and not Message.all_objects.exists()


def test_a_server_in_trouble_is_asked_again(simulator, evolution_channel):
    simulator.inbound_text(INSTANCE, CUSTOMER, "Oi")
    assert simulator.wait_for_webhooks(10)
    _disconnect(simulator, evolution_channel)
    lost = simulator.inbound_text(INSTANCE, CUSTOMER, "Perdida", lost=True)
    simulator.fail_next(503, path="/chat/findMessages/")

    _reconnect(simulator, evolution_channel)  # (tests run tasks at once: Celery's retry is not run here)
    assert [request["status"] for request in _finds(simulator)] == [503]
    assert not Message.all_objects.filter(provider_message_id=lost).exists()
    assert missed_messages_fetch.autoretry_for == (ProviderTemporaryError,) and missed_messages_fetch.max_retries
    missed_messages_fetch.delay(channel_id=evolution_channel.pk)  # the retry, as a worker runs it

    assert [request["status"] for request in _finds(simulator)] == [503, 200]
    assert Message.all_objects.filter(provider_message_id=lost).count() == 1


def test_how_much_is_fetched_is_bounded_and_said(simulator, evolution_channel, settings, caplog):
    settings.MISSED_MESSAGES_LIMIT = 3
    now = int(time.time())
    simulator.inbound_text(INSTANCE, CUSTOMER, "Oi", timestamp=now - 60)
    assert simulator.wait_for_webhooks(10)
    _disconnect(simulator, evolution_channel)
    lost = [simulator.inbound_text(INSTANCE, CUSTOMER, f"Perdida {n}", lost=True, timestamp=now - 50 + n)
            for n in range(5)]

    with caplog.at_level(logging.INFO, logger="integrations.inbound.missed"):
        _reconnect(simulator, evolution_channel)

    kept = set(Message.all_objects.filter(channel=evolution_channel).values_list("provider_message_id", flat=True))
    assert kept & set(lost) == set(lost[2:])  # the newest three
    said = " ".join(record.getMessage() for record in caplog.records if record.name == "integrations.inbound.missed")
    assert "3 fetched" in said and "3 new" in said and "the oldest were not fetched" in said


def test_the_adapter_reads_every_page_newest_first(evolution, evolution_channel):
    """findMessages' pages (chat-findMessages.response.json): records as WhatsApp Web messages."""
    answer = fixture_json("chat-findMessages.response.json")
    evolution.fail_next(200, answer, path="/chat/findMessages/")
    import datetime as dt

    batch = WhatsAppEvolutionAdapter(evolution_channel).messages_since(
        dt.datetime(2025, 6, 15, 9, 55, tzinfo=dt.UTC), until=dt.datetime(2025, 6, 15, 10, 20, tzinfo=dt.UTC))

    (updates,) = batch.updates
    assert [message.provider_message_id for message in updates.messages] == [
        record["key"]["id"] for record in answer["messages"]["records"]]
    assert [message.contact_external_id for message in updates.messages] == ["120363000000000001@g.us", CUSTOMER]
    body = json.loads(_finds(evolution)[0]["body"])
    assert body == fixture_json("chat-findMessages.request.json") | {"offset": body["offset"]}
