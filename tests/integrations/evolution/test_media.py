"""A contact's photo through Evolution: announced by the webhook, fetched from the server
(getBase64FromMediaMessage) by the pipeline, and kept as the message's attachment."""

from __future__ import annotations

import pytest

from conversations.models import Attachment, Message
from integrations.base import ProviderTemporaryError
from integrations.evolution.adapter import WhatsAppEvolutionAdapter
from integrations.evolution.simulator import EvolutionSimulator
from tests.integrations.evolution.conftest import BUSINESS, INSTANCE, INSTANCE_TOKEN, WEBHOOK_SECRET

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120


@pytest.fixture
def simulator(live_server, settings, evolution_channel):
    webhook_url = f"{live_server.url}/webhooks/whatsapp_evolution/{evolution_channel.webhook_token}"
    with EvolutionSimulator(status_progression=()) as simulator:
        simulator.add_instance(INSTANCE, token=INSTANCE_TOKEN, state="open", phone=BUSINESS, webhook_url=webhook_url,
                               webhook_headers={"x-inbox-webhook-secret": WEBHOOK_SECRET})
        settings.EVOLUTION_API_URL = simulator.base_url
        yield simulator


def _fetches(simulator):
    return [request for request in simulator.requests if "getBase64FromMediaMessage" in request["path"]]


@pytest.mark.django_db(transaction=True)
def test_a_contacts_photo_is_fetched_by_its_id_and_kept(simulator):
    message_id = simulator.inbound_image(INSTANCE, caption="Caixa amassada", content=PNG, mime_type="image/png")
    assert simulator.wait_for_webhooks(timeout=10)

    message = Message.all_objects.get(provider_message_id=message_id)
    attachment = Attachment.all_objects.get(message=message)
    assert (message.type, message.content) == ("IMAGE", "Caixa amassada")
    assert attachment.content_type == "image/png" and attachment.file.read() == PNG
    (fetch,) = _fetches(simulator)
    assert f'"key":{{"id":"{message_id}"}}' in fetch["body"].replace(" ", "")


@pytest.mark.django_db(transaction=True)
def test_a_server_that_keeps_no_messages_is_given_the_messages_media_fields(simulator):
    simulator.keeps_messages = False  # DATABASE_SAVE_DATA_NEW_MESSAGE=false: it cannot find it by id

    message_id = simulator.inbound_image(INSTANCE, content=PNG, mime_type="image/png")
    assert simulator.wait_for_webhooks(timeout=10)

    attachment = Attachment.all_objects.get(message__provider_message_id=message_id)
    assert attachment.file.read() == PNG
    by_id, by_fields = _fetches(simulator)
    assert by_id["status"] == 400 and by_fields["status"] == 201
    assert '"directPath"' in by_fields["body"] and '"mediaKey"' in by_fields["body"]


@pytest.mark.django_db(transaction=True)
def test_a_small_file_the_webhook_carried_is_kept_without_asking_again(simulator):
    simulator.instances[INSTANCE].webhook["base64"] = True  # an admin turned Evolution's base64 webhooks on

    small = simulator.inbound_image(INSTANCE, content=PNG, mime_type="image/png")
    large = simulator.inbound_image(INSTANCE, content=PNG + b"\x00" * 100_000, mime_type="image/png")
    assert simulator.wait_for_webhooks(timeout=10)

    assert Attachment.all_objects.get(message__provider_message_id=small).file.read() == PNG
    assert len(Attachment.all_objects.get(message__provider_message_id=large).file.read()) == len(PNG) + 100_000
    assert "base64" not in Message.all_objects.get(provider_message_id=large).content_attributes["media"]
    assert len(_fetches(simulator)) == 1  # the large one only


@pytest.mark.django_db
def test_a_server_in_trouble_is_retried_later(evolution, evolution_channel):
    evolution.fail_next(502, path="/chat/")

    with pytest.raises(ProviderTemporaryError):
        WhatsAppEvolutionAdapter(evolution_channel).fetch_media({"id": "A5B1C2D3", "mime_type": "image/png"})
