"""Seed 001's account-wide WhatsApp number (/api/whatsapp/connect, /status/{tenantId},
/disconnect/{tenantId}) and its reply endpoint (/api/conversations/{id}/send-message), against
the connection service's simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import Role
from channels_app.models import Channel
from config.crypto import Secrets
from conversations.models import Message
from tests import factories
from tests.integrations.baileys_service.conftest import SESSION

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(acme):
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_gateway", name="WhatsApp Celular", status=Channel.Status.CONNECTED,
        config={"session_id": SESSION, "path_style": "v1", "auth_header": "bearer", "phone": "+5511987650000",
                "send_pacing_seconds": [0, 0]},
        credentials=Secrets({"webhook_secret": "x" * 40}),
    )


def test_connect_creates_the_accounts_number_on_the_installations_service(service, admin_api, acme):
    response = admin_api.post("/api/whatsapp/connect")

    assert response.status_code == 200, response.content
    body = response.json()
    channel = Channel.all_objects.get(tenant=acme)
    assert (channel.kind, channel.name) == ("whatsapp_gateway", "WhatsApp")
    assert body == {"success": True, "sessionId": str(channel.public_id), "qrCode": body["qrCode"],
                    "status": "QR_PENDING"}
    assert body["qrCode"].startswith("data:image/")
    assert service.sessions[channel.config["session_id"]].status == "qr"


def test_connect_without_a_service_says_so_and_creates_nothing(admin_api, settings):
    settings.CONNECTION_SERVICE_URL = settings.WHATSAPP_MICROSERVICE_URL = ""

    response = admin_api.post("/api/whatsapp/connect")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "pairing_service_not_configured" and "connection service" in error["message"]
    assert not Channel.all_objects.exists()


def test_connect_pairs_the_accounts_oldest_qr_number_again(service, admin_api, gateway, acme):
    factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")  # not paired by QR code: never this one
    service.add_session(SESSION)  # the service's session waits for a scan
    Channel.all_objects.filter(pk=gateway.pk).update(status=Channel.Status.DISCONNECTED)

    response = admin_api.post("/api/whatsapp/connect")

    assert response.status_code == 200, response.content
    assert response.json()["sessionId"] == str(gateway.public_id)
    assert Channel.all_objects.filter(tenant=acme).count() == 2


def test_connect_leaves_a_connected_number_as_it_is(service, admin_api, gateway):
    response = admin_api.post("/api/whatsapp/connect")

    assert response.json() == {"success": True, "sessionId": str(gateway.public_id), "qrCode": None,
                               "status": "CONNECTED"}
    assert not service.requests


def test_an_agent_cannot_connect(service, api, acme, member):
    assert api(member(acme, Role.AGENT)).post("/api/whatsapp/connect").status_code == 403
    assert not Channel.all_objects.exists()


@pytest.mark.parametrize("reference", ["acme", "public_id"])
def test_status_by_the_accounts_slug_or_id(api, acme, member, gateway, reference):
    tenant_id = acme.slug if reference == "acme" else str(acme.public_id)
    factories.ConversationFactory(tenant=acme, channel=gateway, last_activity_at="2026-05-13T14:30:00Z")

    response = api(member(acme, Role.VIEWER, channels=(gateway,))).get(f"/api/whatsapp/status/{tenant_id}")

    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body.pop("lastActivity")) == datetime(2026, 5, 13, 14, 30, tzinfo=UTC)
    assert body == {"connected": True, "status": "CONNECTED", "phoneNumber": "+5511987650000", "qrCode": None}


def test_another_accounts_tenant_id_is_a_404(api, acme, globex, member, gateway, service):
    admin = api(member(acme, Role.TENANT_ADMIN))

    for reference in (globex.slug, str(globex.public_id), "nobody"):
        assert admin.get(f"/api/whatsapp/status/{reference}").status_code == 404
        assert admin.delete(f"/api/whatsapp/disconnect/{reference}").status_code == 404
    gateway.refresh_from_db()
    assert gateway.status == Channel.Status.CONNECTED and not service.requests


def test_an_account_without_a_number_has_no_status(admin_api, acme):
    response = admin_api.get(f"/api/whatsapp/status/{acme.slug}")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_disconnect_logs_the_phone_out(service, admin_api, acme, gateway):
    service.add_session(SESSION, connected=True, phone="5511987650000")

    response = admin_api.delete(f"/api/whatsapp/disconnect/{acme.slug}")

    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "status": "DISCONNECTED"}
    assert ("DELETE", f"/api/v1/sessions/{SESSION}") in [(r["method"], r["path"]) for r in service.requests]


@pytest.mark.parametrize("body", [{"message": "Seu pedido saiu para entrega"},
                                  {"content": "Seu pedido saiu para entrega"}])
def test_send_message_replies_in_the_conversation(service, api, acme, member, gateway, body,
                                                  django_capture_on_commit_callbacks):
    service.add_session(SESSION, connected=True, phone="5511987650000")
    conversation = factories.ConversationFactory(tenant=acme, channel=gateway)
    agent = member(acme, Role.AGENT, channels=(gateway,))

    with django_capture_on_commit_callbacks(execute=True):
        response = api(agent).post(f"/api/conversations/{conversation.public_id}/send-message", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["content"] == "Seu pedido saiu para entrega"
    assert response.json()["conversation_id"] == str(conversation.public_id)
    message = Message.all_objects.get(public_id=response.json()["id"])
    assert message.status == Message.Status.SENT and message.sender_user == agent.user
    assert service.sent[0]["message"] == "Seu pedido saiu para entrega"


def test_send_message_refusals(api, acme, globex, member, gateway):
    mine = factories.ConversationFactory(tenant=acme, channel=gateway)
    theirs = factories.ConversationFactory(tenant=globex, channel=factories.ChannelFactory(tenant=globex))
    unworked = factories.ConversationFactory(tenant=acme, channel=factories.ChannelFactory(tenant=acme))
    agent = api(member(acme, Role.AGENT, channels=(gateway,)))

    def send(client, conversation, body):
        return client.post(f"/api/conversations/{conversation.public_id}/send-message", body, format="json")

    assert send(agent, theirs, {"message": "Oi"}).status_code == 404
    assert send(agent, unworked, {"message": "Oi"}).status_code == 404
    assert send(api(member(acme, Role.VIEWER, channels=(gateway,))), mine, {"message": "Oi"}).status_code == 403
    assert send(agent, mine, {"message": 1}).status_code == 400
    empty = send(agent, mine, {})
    assert empty.status_code == 422 and empty.json()["error"]["details"] == {"content": ["This field may not be blank."]}
    assert not Message.all_objects.exists()
