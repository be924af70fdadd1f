from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from config.crypto import Secrets
from conversations.models import Message
from integrations.baileys_service.events import signature_for
from tests import factories

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "baileys_service"
BAILEYS = Path(__file__).resolve().parents[2] / "fixtures" / "baileys"
SESSION = "inbox-test-session"
SECRET = "test-webhook-secret-0123456789abcdef"
API_KEY = "test-service-key"
CUSTOMER = "15555550123"


def fixture_bytes(name: str) -> bytes:
    """A fixture as the service posts it: JSON.stringify's compact form, UTF-8, unescaped."""
    return json.dumps(json.loads((FIXTURES / name).read_text()), separators=(",", ":"), ensure_ascii=False).encode()


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def service(settings):
    """The connection service simulator, as this installation's service (no receipts after a
    send, no QR events: tests ask for them)."""
    from integrations.baileys_service.simulator import ConnectionServiceSimulator

    simulator = ConnectionServiceSimulator(api_key=API_KEY, status_progression=(), qr_events=False)
    simulator.start()
    settings.CONNECTION_SERVICE_URL = simulator.base_url
    settings.CONNECTION_SERVICE_API_KEY = API_KEY
    yield simulator
    simulator.stop()


@pytest.fixture
def gateway(acme):
    """A paired channel (sends unpaced: the tests do not wait like a human)."""
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_gateway", name="WhatsApp Celular", status="CONNECTED",
        config={"session_id": SESSION, "path_style": "v1", "auth_header": "bearer", "send_pacing_seconds": [0, 0]},
        credentials=Secrets({"webhook_secret": SECRET}),
    )


@pytest.fixture
def paired(service, gateway):
    """The channel's session, paired on the simulator."""
    service.add_session(SESSION, connected=True, phone="15555550100")
    return gateway


@pytest.fixture
def post_webhook(client):
    def post(channel, body: bytes, *, secret: str = SECRET, signature: str | None = None):
        headers = {"HTTP_X_WEBHOOK_SIGNATURE": signature if signature is not None else signature_for(body, secret)}
        return client.generic("POST", f"/webhooks/whatsapp_gateway/{channel.webhook_token}", body,
                              content_type="application/json", **headers)

    return post


@pytest.fixture
def conversation(gateway):
    """An open conversation with a customer who wrote five minutes ago."""
    contact = factories.ContactFactory(tenant=gateway.tenant, phone="+" + CUSTOMER)
    factories.ContactIdentityFactory(contact=contact, tenant=gateway.tenant, channel=gateway, external_id=CUSTOMER)
    return factories.ConversationFactory(tenant=gateway.tenant, channel=gateway, contact=contact,
                                         last_inbound_at=timezone.now() - timedelta(minutes=5))


def pending_reply(conversation, content="Seu pedido saiu para entrega!"):
    """An agent's reply waiting to be sent (written without its event: nothing queues it)."""
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                    content=content)
