from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from config.crypto import Secrets
from conversations.models import Message
from integrations.whatsapp_cloud.adapter import signature_for
from tests import factories

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp-cloud"
APP_SECRET = "FAKE_APP_SECRET_0123456789abcdef"
VERIFY_TOKEN = "FAKE_VERIFY_TOKEN"
CUSTOMER = "15555550123"


def fixture_bytes(name: str) -> bytes:
    """A fixture as Meta sends it: compact JSON with non-ASCII escaped."""
    return json.dumps(json.loads((FIXTURES / name).read_text()), separators=(",", ":")).encode()


@pytest.fixture
def whatsapp(acme):
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_cloud", name="WhatsApp Vendas",
        config={"phone_number_id": "100000000000002", "waba_id": "100000000000001",
                "display_phone_number": "+15555550100"},
        credentials=Secrets({"access_token": "EAAG-test-token", "app_secret": APP_SECRET,
                             "verify_token": VERIFY_TOKEN}),
    )


@pytest.fixture
def post_webhook(client):
    def post(channel, body: bytes, *, secret: str = APP_SECRET, signature: str | None = None):
        headers = {"HTTP_X_HUB_SIGNATURE_256": signature if signature is not None else signature_for(body, secret)}
        return client.generic("POST", f"/webhooks/whatsapp_cloud/{channel.webhook_token}", body,
                              content_type="application/json", **headers)

    return post


@pytest.fixture
def graph(settings):
    """The Graph API simulator with the test number, in Meta's place."""
    from integrations.whatsapp_cloud.simulator import GraphSimulator

    simulator = GraphSimulator(status_progression=())
    simulator.start()
    simulator.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET, waba_id="100000000000001")
    settings.WHATSAPP_GRAPH_API_URL = simulator.base_url
    settings.WHATSAPP_GRAPH_API_VERSION = simulator.version
    yield simulator
    simulator.stop()


@pytest.fixture
def conversation(whatsapp):
    """An open conversation with a customer who wrote five minutes ago (the window is open)."""
    contact = factories.ContactFactory(tenant=whatsapp.tenant, phone="+" + CUSTOMER)
    factories.ContactIdentityFactory(contact=contact, tenant=whatsapp.tenant, channel=whatsapp, external_id=CUSTOMER)
    return factories.ConversationFactory(tenant=whatsapp.tenant, channel=whatsapp, contact=contact,
                                         last_inbound_at=timezone.now() - timedelta(minutes=5))


@pytest.fixture
def agent(whatsapp, member):
    return member(whatsapp.tenant, Role.AGENT, channels=(whatsapp,)).user


def pending_reply(conversation, content="Seu pedido saiu para entrega!"):
    """An agent's reply waiting to be sent (written without its event: nothing queues it)."""
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                    content=content)
