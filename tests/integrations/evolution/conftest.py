from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from config.crypto import Secrets
from conversations.models import Message
from tests import factories

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "evolution"
INSTANCE = "inbox-test"  # the fixtures' instance
INSTANCE_TOKEN = "F4KE0000-0000-4000-8000-000000000001"  # the fixtures' `hash`
GLOBAL_KEY = "FAKE-GLOBAL-API-KEY-0123456789"
WEBHOOK_SECRET = "FAKE-WEBHOOK-SECRET-0123456789abcdef"
SECRET_HEADER = "HTTP_X_INBOX_WEBHOOK_SECRET"
CUSTOMER = "15555550123"  # the fixtures' customer
BUSINESS = "15555550100"  # the fixtures' paired number


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return json.dumps(fixture_json(name), separators=(",", ":"), ensure_ascii=False).encode()


def upsert(name: str = "webhook-messages-upsert-text.json", **changes) -> bytes:
    """A messages.upsert fixture with `key` fields (and message text) changed."""
    payload = fixture_json(name)
    text = changes.pop("text", None)
    payload["data"]["key"].update(changes)
    if text is not None:
        payload["data"]["message"] = {"conversation": text}
    return json.dumps(payload).encode()


@pytest.fixture
def evolution_channel(acme):
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_evolution", name="WhatsApp Celular",
        config={"instance": INSTANCE, "integration": "WHATSAPP-BAILEYS", "phone": f"+{BUSINESS}"},
        credentials=Secrets({"instance_token": INSTANCE_TOKEN, "webhook_secret": WEBHOOK_SECRET}),
    )


@pytest.fixture
def post_webhook(client):
    """post_webhook(channel, body, secret=..., **headers): through the real endpoint."""

    def post(channel, body: bytes, *, secret: str | None = WEBHOOK_SECRET, **headers):
        if secret is not None:
            headers.setdefault(SECRET_HEADER, secret)
        return client.generic("POST", f"/webhooks/whatsapp_evolution/{channel.webhook_token}", body,
                              content_type="application/json", **headers)

    return post


@pytest.fixture
def evolution(settings):
    """The Evolution API simulator in the installation's shared server's place, with the fixtures'
    instance paired with the business's number (no receipts unless a test asks)."""
    from integrations.evolution.simulator import EvolutionSimulator

    simulator = EvolutionSimulator(api_key=GLOBAL_KEY, status_progression=(), webhook_retry_delays=())
    simulator.start()
    simulator.add_instance(INSTANCE, token=INSTANCE_TOKEN, state="open", phone=BUSINESS)
    settings.EVOLUTION_API_URL = simulator.base_url
    settings.EVOLUTION_API_KEY = GLOBAL_KEY
    yield simulator
    simulator.stop()


@pytest.fixture
def conversation(evolution_channel):
    contact = factories.ContactFactory(tenant=evolution_channel.tenant, phone="+" + CUSTOMER)
    factories.ContactIdentityFactory(contact=contact, tenant=evolution_channel.tenant, channel=evolution_channel,
                                     external_id=CUSTOMER)
    return factories.ConversationFactory(tenant=evolution_channel.tenant, channel=evolution_channel, contact=contact,
                                         last_inbound_at=timezone.now())


@pytest.fixture
def agent(evolution_channel, member):
    return member(evolution_channel.tenant, Role.AGENT, channels=(evolution_channel,)).user


def pending_reply(conversation, content="Seu pedido saiu para entrega!"):
    """An agent's reply waiting to be sent (written without its event: nothing queues it)."""
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                    content=content)
