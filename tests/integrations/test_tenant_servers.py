"""A tenant's own provider server (an Evolution server, a connection service) is called only at
a public address: one that names this machine, a private network or a cloud's metadata address
is refused when the channel is connected, and nothing is called there."""

from __future__ import annotations

import pytest

from accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind,config,field", [
    ("whatsapp_evolution", {"instance": "loja", "server_url": "http://169.254.169.254/latest"}, "server_url"),
    ("whatsapp_evolution", {"instance": "loja", "server_url": "http://127.0.0.1:8082"}, "server_url"),
    ("whatsapp_gateway", {"service_url": "http://10.0.0.7:3000"}, "service_url"),
])
def test_a_private_server_address_is_refused(acme, member, api, settings, kind, config, field):
    settings.PROVIDER_URL_ALLOW_PRIVATE = False

    answer = api(member(acme, Role.TENANT_ADMIN)).post("/api/v1/channels", {
        "kind": kind, "name": "Own server", "config": config, "credentials": {"api_key": "k"}}, format="json")

    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert "not on the internet" in error["message"] and field in str(error["details"])


# --- and on every call: a name that later resolves to a private address is not called -------

def _evolution_reply(acme, simulator, server_url):
    from config.crypto import Secrets
    from tests import factories
    from tests.integrations.evolution.conftest import INSTANCE, INSTANCE_TOKEN, WEBHOOK_SECRET

    channel = factories.ChannelFactory(
        tenant=acme, kind="whatsapp_evolution", status="CONNECTED",
        config={"instance": INSTANCE, "integration": "WHATSAPP-BAILEYS", "server_url": server_url},
        credentials=Secrets({"instance_token": INSTANCE_TOKEN, "webhook_secret": WEBHOOK_SECRET, "api_key": "k"}))
    contact = factories.ContactFactory(tenant=acme, phone="+15555550123")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, contact=contact)
    return channel, factories.MessageFactory(conversation=conversation, direction="OUTBOUND", sender_type="AGENT",
                                             status="PENDING", content="Olá")


@pytest.fixture
def evolution_server():
    from integrations.evolution.simulator import EvolutionSimulator
    from tests.integrations.evolution.conftest import BUSINESS, INSTANCE, INSTANCE_TOKEN

    with EvolutionSimulator(status_progression=(), webhook_retry_delays=()) as simulator:
        simulator.add_instance(INSTANCE, token=INSTANCE_TOKEN, state="open", phone=BUSINESS)
        yield simulator


def test_a_tenant_server_whose_name_now_leads_to_a_private_address_is_not_called(acme, settings, evolution_server):
    from channels_app.models import Channel
    from conversations.models import Message
    from integrations.outbound.send import message_deliver_now

    # Checked public when connected; its name now resolves to this machine (as "localhost" does).
    channel, reply = _evolution_reply(acme, evolution_server, evolution_server.base_url.replace("127.0.0.1",
                                                                                                "localhost"))
    settings.PROVIDER_URL_ALLOW_PRIVATE = False

    assert message_deliver_now(message_id=reply.pk).status == "failed"

    reply.refresh_from_db()
    channel.refresh_from_db()
    assert (reply.status, reply.error_code) == (Message.Status.FAILED, "private_address")
    assert channel.status == Channel.Status.ERROR and "private_address" in channel.status_detail
    assert evolution_server.sent == [] and not evolution_server.requests


def test_the_connection_goes_to_the_address_checked_not_to_a_later_answer(acme, settings, evolution_server,
                                                                          monkeypatch):
    """The name is resolved once per connection, that answer is checked, and that very address is
    the one connected to (no second look-up a rebinding name could answer differently)."""
    import integrations.http
    from integrations.outbound.send import message_deliver_now

    looked_up = []

    def resolve(host, port):
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(integrations.http, "host_addresses", resolve)
    monkeypatch.setattr(integrations.http, "address_is_public", lambda address: address == "127.0.0.1")
    port = evolution_server.base_url.rsplit(":", 1)[1]
    _channel, reply = _evolution_reply(acme, evolution_server, f"http://evolution.loja.invalid:{port}")
    settings.PROVIDER_URL_ALLOW_PRIVATE = False

    assert message_deliver_now(message_id=reply.pk).status == "sent"
    assert looked_up == ["evolution.loja.invalid"] and len(evolution_server.sent) == 1


def test_the_installations_own_server_is_not_held_to_it(acme, settings, evolution_server):
    """The platform's configured server (EVOLUTION_API_URL) is the operator's choice: it may be private."""
    from integrations.outbound.send import message_deliver_now

    _channel, reply = _evolution_reply(acme, evolution_server, "")
    settings.PROVIDER_URL_ALLOW_PRIVATE = False
    settings.EVOLUTION_API_URL = evolution_server.base_url

    assert message_deliver_now(message_id=reply.pk).status == "sent"


def test_a_tenant_connection_service_is_held_to_it_too(acme, settings):
    from channels_app.models import Channel
    from config.crypto import Secrets
    from integrations.baileys_service.simulator import ConnectionServiceSimulator
    from integrations.outbound.send import message_deliver_now
    from tests import factories
    from tests.integrations.baileys_service.conftest import API_KEY, SECRET, SESSION

    simulator = ConnectionServiceSimulator(api_key=API_KEY, status_progression=(), qr_events=False).start()
    try:
        simulator.add_session(SESSION, connected=True, phone="15555550100")
        channel = factories.ChannelFactory(
            tenant=acme, kind="whatsapp_gateway", status="CONNECTED",
            config={"session_id": SESSION, "send_pacing_seconds": [0, 0],
                    "service_url": simulator.base_url.replace("127.0.0.1", "localhost")},
            credentials=Secrets({"webhook_secret": SECRET, "api_key": API_KEY}))
        conversation = factories.ConversationFactory(tenant=acme, channel=channel,
                                                     contact=factories.ContactFactory(tenant=acme, phone="+15555550123"))
        reply = factories.MessageFactory(conversation=conversation, direction="OUTBOUND", sender_type="AGENT",
                                         status="PENDING", content="Olá")
        settings.PROVIDER_URL_ALLOW_PRIVATE = False

        assert message_deliver_now(message_id=reply.pk).status == "failed"

        channel.refresh_from_db()
        assert channel.status == Channel.Status.ERROR and "private_address" in channel.status_detail
        assert simulator.sent == [] and simulator.requests == []
    finally:
        simulator.stop()
