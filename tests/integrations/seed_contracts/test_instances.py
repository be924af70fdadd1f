"""Seed 000's WhatsApp instances (/api/v1/whatsapp/instances) and seed 004's integrations
(/integrations/whatsapp), with the seed's example bodies, against the providers' simulators:
the same channels, pairing and messages as the main API's."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from channels_app.models import Channel
from config.crypto import Secrets
from contacts.models import Contact, ContactIdentity
from conversations.models import Conversation, Message
from integrations.models import WebhookEvent
from tests import factories
from tests.integrations.evolution.conftest import GLOBAL_KEY, INSTANCE, INSTANCE_TOKEN
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET

pytestmark = pytest.mark.django_db

INSTANCES = "/api/v1/whatsapp/instances"
INTEGRATIONS = "/integrations/whatsapp"
# The seed's examples.
EVOLUTION_BODY = {"name": "Loja", "phoneNumber": "+5511987654321"}  # type: EVOLUTION by default
OFFICIAL_BODY = {"name": "Vendas", "phoneNumber": "+5511955550100", "type": "OFFICIAL",
                 "phoneNumberId": "100000000000002", "businessAccountId": "100000000000001",
                 "accessToken": "EAAG-test-token", "appSecret": APP_SECRET}
BAILEYS_BODY = {"name": "Celular", "phoneNumber": "+5511912345678", "type": "BAILEYS"}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _channel(body) -> Channel:
    return Channel.all_objects.get(public_id=body["id"])


@pytest.fixture
def paired(acme, evolution):
    """An Evolution number of acme's, paired (the simulator's instance), sending unpaced."""
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_evolution", name="WhatsApp Celular", status=Channel.Status.CONNECTED,
        config={"instance": INSTANCE, "integration": "WHATSAPP-BAILEYS", "phone": "+15555550100",
                "send_pacing_seconds": [0, 0]},
        credentials=Secrets({"instance_token": INSTANCE_TOKEN, "webhook_secret": "s" * 40}),
    )


@pytest.fixture
def waiting(acme, evolution):
    """An Evolution number of acme's waiting for its scan (the simulator's instance, logged out)."""
    evolution.instance(INSTANCE).state = "close"
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_evolution", name="WhatsApp Celular", status=Channel.Status.DISCONNECTED,
        config={"instance": INSTANCE, "integration": "WHATSAPP-BAILEYS"},
        credentials=Secrets({"instance_token": INSTANCE_TOKEN, "webhook_secret": "s" * 40}),
    )


# --- connecting a number ---------------------------------------------------------------------


def test_a_number_is_connected_through_evolution_by_default(fresh, admin_api):
    response = admin_api.post(INSTANCES, EVOLUTION_BODY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    channel = _channel(body)
    assert channel.kind == "whatsapp_evolution" and channel.name == "Loja"
    assert set(body) == {"id", "name", "phoneNumber", "type", "status", "statusDetail", "qrcode", "pairingCode",
                         "createdAt"}
    assert (body["type"], body["status"], body["phoneNumber"]) == ("EVOLUTION", "QR_PENDING", "+5511987654321")
    assert body["qrcode"].startswith("data:image/png;base64,")
    # Created on the server with the channel's own webhook and secret, as POST /api/v1/channels does.
    instance = fresh.instances[channel.config["instance"]]
    assert instance.webhook["url"] == channel.webhook_url
    assert channel.credentials["instance_token"] == instance.token


def test_a_number_on_the_tenants_own_evolution_server(fresh, admin_api, settings):
    settings.EVOLUTION_API_URL = settings.EVOLUTION_API_KEY = ""  # no server of the installation's

    response = admin_api.post(INSTANCES, {**EVOLUTION_BODY, "type": "EVOLUTION", "serverUrl": fresh.base_url,
                                          "apiToken": GLOBAL_KEY}, format="json")

    assert response.status_code == 201, response.content
    channel = _channel(response.json())
    assert channel.config["server_url"] == fresh.base_url and channel.credentials["api_key"] == GLOBAL_KEY
    assert "apiToken" not in response.json()


def test_an_official_number_is_checked_with_the_cloud_api(graph, admin_api):
    graph.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET, waba_id="100000000000001")

    response = admin_api.post(INSTANCES, OFFICIAL_BODY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    channel = _channel(body)
    assert (channel.kind, body["type"], body["status"], body["qrcode"]) == (
        "whatsapp_cloud", "OFFICIAL", "CONNECTED", None)
    assert channel.config["phone_number_id"] == "100000000000002" and channel.config["waba_id"] == "100000000000001"
    assert channel.credentials["access_token"] == "EAAG-test-token" and channel.credentials["app_secret"] == APP_SECRET


def test_a_baileys_number_goes_through_the_connection_service(service, admin_api):
    response = admin_api.post(INSTANCES, BAILEYS_BODY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    channel = _channel(body)
    assert (channel.kind, body["type"], body["status"]) == ("whatsapp_gateway", "BAILEYS", "QR_PENDING")
    assert service.sessions[channel.config["session_id"]].status == "qr"


def test_an_invalid_phone_is_a_422_and_nothing_is_created(fresh, admin_api):
    response = admin_api.post(INSTANCES, {**EVOLUTION_BODY, "phoneNumber": "12"}, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_phone" and list(error["details"]) == ["phoneNumber"]
    assert not Channel.all_objects.exists() and not fresh.instances


def test_missing_official_settings_are_named_by_the_seeds_fields(graph, admin_api):
    body = {key: value for key, value in OFFICIAL_BODY.items() if key not in ("businessAccountId", "appSecret")}

    response = admin_api.post(INSTANCES, body, format="json")

    assert response.status_code == 422
    assert set(response.json()["error"]["details"]) == {"businessAccountId", "appSecret"}
    assert not Channel.all_objects.exists()


def test_a_server_without_its_key_is_refused_by_the_kinds_form(fresh, admin_api):
    response = admin_api.post(INSTANCES, {**EVOLUTION_BODY, "serverUrl": fresh.base_url}, format="json")

    assert response.status_code == 422
    assert list(response.json()["error"]["details"]) == ["apiToken"]


def test_a_provider_refusal_names_the_seeds_fields(graph, admin_api):
    response = admin_api.post(INSTANCES, {**OFFICIAL_BODY, "accessToken": "wrong"}, format="json")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "provider_auth_failed"
    assert not Channel.all_objects.exists()


@pytest.mark.parametrize("body,field", [
    ({"name": "Loja", "phoneNumber": 5511987654321}, "phoneNumber"),  # a number is no string
    ({"name": "Loja", "phoneNumber": "+5511987654321", "type": "TELEGRAM"}, "type"),
    ({"phoneNumber": "+5511987654321"}, "name"),
    ({"name": "Loja", "phoneNumber": "+5511987654321", "serverUrl": None}, "serverUrl"),
])
def test_input_that_breaks_the_schema_is_a_400(admin_api, body, field):
    response = admin_api.post(INSTANCES, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]


def test_an_agent_cannot_connect_a_number(fresh, api, acme, member):
    response = api(member(acme, Role.AGENT)).post(INSTANCES, EVOLUTION_BODY, format="json")

    assert response.status_code == 403
    assert not Channel.all_objects.exists() and not fresh.instances


# --- reading and changing them ---------------------------------------------------------------


def test_the_list_holds_the_accounts_whatsapp_numbers_only(api, acme, globex, member, paired):
    archived = factories.ChannelFactory(tenant=acme, kind="whatsapp_gateway", archived_at="2026-01-01T00:00:00Z")
    factories.ChannelFactory(tenant=acme, kind="api")
    factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution")

    response = api(member(acme, Role.VIEWER, channels=(paired,))).get(INSTANCES)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [str(paired.public_id)]
    assert str(archived.public_id) not in response.content.decode()


def test_an_instance_is_read_renamed_and_archived(admin_api, paired):
    url = f"{INSTANCES}/{paired.public_id}"

    assert admin_api.get(url).json()["phoneNumber"] == "+15555550100"
    renamed = admin_api.put(url, {"name": "Atendimento"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Atendimento"
    assert admin_api.delete(url).status_code == 204

    paired.refresh_from_db()
    assert paired.name == "Atendimento" and paired.archived_at is not None
    assert admin_api.get(url).status_code == 404


@pytest.mark.parametrize("method,suffix", [
    ("get", ""), ("put", ""), ("delete", ""), ("get", "/qrcode"), ("get", "/status"), ("post", "/disconnect"),
    ("get", "/messages"), ("post", "/messages"),
])
def test_another_tenants_instance_is_a_404_and_stays_as_it_was(api, acme, globex, member, method, suffix):
    theirs = factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution", name="Globex")
    client = api(member(acme, Role.TENANT_ADMIN))

    response = getattr(client, method)(f"{INSTANCES}/{theirs.public_id}{suffix}",
                                       {"name": "x", "contactPhone": "+5511987654321", "text": "Oi"}, format="json")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert (theirs.name, theirs.archived_at) == ("Globex", None)
    assert not Message.all_objects.exists()


def test_a_malformed_id_is_a_json_404(admin_api):
    for url in (f"{INSTANCES}/not-a-uuid", f"{INTEGRATIONS}/not-a-uuid/status"):
        response = admin_api.get(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# --- pairing ---------------------------------------------------------------------------------


def test_the_qr_code_waiting_is_shown_without_asking_the_provider(admin_api, waiting, evolution):
    waiting.config["pairing"] = {"qr_code": "2@waiting", "at": "2026-01-01T00:00:00+00:00"}
    waiting.save()
    evolution.requests.clear()

    response = admin_api.get(f"{INSTANCES}/{waiting.public_id}/qrcode")

    assert response.status_code == 200
    assert response.json()["qrcode"].startswith("data:image/png;base64,")
    assert not evolution.requests


def test_without_a_qr_code_pairing_starts(admin_api, waiting, evolution):
    response = admin_api.get(f"{INSTANCES}/{waiting.public_id}/qrcode")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["qrcode"].startswith("data:image/png;base64,") and body["status"] == "QR_PENDING"
    assert any(request["path"].startswith(f"/instance/connect/{INSTANCE}") for request in evolution.requests)


def test_a_connected_number_has_no_qr_code(admin_api, paired, acme):
    official = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", status=Channel.Status.ERROR)

    connected = admin_api.get(f"{INSTANCES}/{paired.public_id}/qrcode")
    not_qr = admin_api.get(f"{INSTANCES}/{official.public_id}/qrcode")

    assert connected.status_code == 409 and connected.json()["error"]["code"] == "already_connected"
    assert not_qr.status_code == 409 and not_qr.json()["error"]["code"] == "not_paired_by_qr"


def test_only_who_manages_numbers_sees_a_qr_code(api, acme, member, waiting):
    response = api(member(acme, Role.AGENT, channels=(waiting,))).get(f"{INSTANCES}/{waiting.public_id}/qrcode")

    assert response.status_code == 403


def test_status_and_disconnect(admin_api, paired, evolution):
    status = admin_api.get(f"{INSTANCES}/{paired.public_id}/status")
    assert status.json() == {"id": str(paired.public_id), "status": "CONNECTED", "statusDetail": "",
                             "connected": True, "phoneNumber": "+15555550100",
                             "updatedAt": status.json()["updatedAt"]}

    response = admin_api.post(f"{INSTANCES}/{paired.public_id}/disconnect")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "DISCONNECTED"
    assert evolution.instance(INSTANCE).state == "close"


# --- messages --------------------------------------------------------------------------------


def test_a_message_to_a_new_phone_makes_the_contact_and_conversation_and_goes_out(
        api, acme, member, paired, evolution, django_capture_on_commit_callbacks):
    agent = member(acme, Role.AGENT, channels=(paired,))

    with django_capture_on_commit_callbacks(execute=True):
        response = api(agent).post(f"{INSTANCES}/{paired.public_id}/messages",
                                   {"contactPhone": "+5511987654321", "text": "Seu pedido saiu para entrega"},
                                   format="json")

    assert response.status_code == 201, response.content
    message = Message.all_objects.get(public_id=response.json()["id"])
    identity = ContactIdentity.all_objects.get(channel=paired)
    assert (identity.external_id, identity.contact.phone) == ("5511987654321", "+5511987654321")
    assert message.conversation.contact_id == identity.contact_id and message.sender_user == agent.user
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    (sent,) = evolution.sent
    assert sent["body"]["number"] == "5511987654321" and sent["body"]["text"] == "Seu pedido saiu para entrega"


def test_the_next_message_to_that_phone_continues_its_conversation(admin_api, paired, evolution):
    url = f"{INSTANCES}/{paired.public_id}/messages"

    first = admin_api.post(url, {"contactPhone": "+55 11 98765-4321", "text": "Oi"}, format="json")
    second = admin_api.post(url, {"contactPhone": "5511987654321", "text": "Tudo bem?"}, format="json")

    assert first.status_code == second.status_code == 201
    assert first.json()["conversation_id"] == second.json()["conversation_id"]
    assert Contact.all_objects.count() == 1 and Conversation.all_objects.count() == 1


def test_a_reply_from_that_phone_lands_in_the_same_conversation(admin_api, paired, evolution, client,
                                                               django_capture_on_commit_callbacks):
    from tests.integrations.evolution.conftest import upsert

    sent = admin_api.post(f"{INSTANCES}/{paired.public_id}/messages",
                          {"contactPhone": "+5511987654321", "text": "Oi"}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        client.generic("POST", f"/webhooks/whatsapp_evolution/{paired.webhook_token}",
                       upsert(remoteJid="5511987654321@s.whatsapp.net"),
                       content_type="application/json", HTTP_X_INBOX_WEBHOOK_SECRET="s" * 40)

    inbound = Message.all_objects.get(direction=Message.Direction.INBOUND)
    assert str(inbound.conversation.public_id) == sent["conversation_id"]
    assert Contact.all_objects.count() == 1


def test_a_file_by_url_goes_out_with_its_caption(admin_api, paired, evolution, settings):
    settings.MEDIA_URL_ALLOW_PRIVATE = True  # the test's own file server is on this machine

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = admin_api.post(f"{INSTANCES}/{paired.public_id}/messages", {
            "contactPhone": "+5511987654321", "mediaUrl": f"http://127.0.0.1:{server.server_address[1]}/nota.png",
            "caption": "Sua nota fiscal"}, format="json")
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 201, response.content
    message = Message.all_objects.get(public_id=response.json()["id"])
    (attachment,) = message.attachments.all()
    assert (message.type, message.content, attachment.content_type) == ("IMAGE", "Sua nota fiscal", "image/png")


def test_a_refused_message_keeps_nothing(admin_api, acme, graph):
    official = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")

    response = admin_api.post(f"{INSTANCES}/{official.public_id}/messages",
                              {"contactPhone": "+5511987654321", "text": "Oi"}, format="json")

    # The Cloud API takes a free message only within 24 hours of the contact's last one.
    assert response.status_code == 422 and response.json()["error"]["code"] == "service_window_closed"
    assert not (Contact.all_objects.exists() or Conversation.all_objects.exists() or Message.all_objects.exists())


@pytest.mark.parametrize("body,status,code", [
    ({"contactPhone": "abc", "text": "Oi"}, 422, "invalid_phone"),
    ({"contactPhone": "+5511987654321"}, 422, "validation_error"),  # nothing to send
    ({"contactPhone": "+5511987654321", "mediaUrl": "ftp://example.com/a.png"}, 422, "media_url_refused"),
    ({"contactPhone": "+5511987654321", "text": 7}, 400, "validation_error"),
    ({"text": "Oi"}, 400, "validation_error"),
])
def test_a_message_refused_says_why(admin_api, paired, body, status, code):
    response = admin_api.post(f"{INSTANCES}/{paired.public_id}/messages", body, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Message.all_objects.exists()


def test_a_viewer_cannot_send(api, acme, member, paired):
    response = api(member(acme, Role.VIEWER, channels=(paired,))).post(
        f"{INSTANCES}/{paired.public_id}/messages", {"contactPhone": "+5511987654321", "text": "Oi"}, format="json")

    assert response.status_code == 403 and not Message.all_objects.exists()


def test_the_numbers_messages_are_listed_newest_first_in_pages(admin_api, acme, paired):
    conversation = factories.ConversationFactory(tenant=acme, channel=paired)
    other = factories.ConversationFactory(tenant=acme, channel=factories.ChannelFactory(tenant=acme, kind="api"))
    for text in ("um", "dois", "três"):
        factories.MessageFactory(conversation=conversation, content=text)
    factories.MessageFactory(conversation=other, content="outro canal")

    page = admin_api.get(f"{INSTANCES}/{paired.public_id}/messages", {"page_size": 2}).json()
    rest = admin_api.get(page["next"]).json()

    assert [item["content"] for item in page["results"] + rest["results"]] == ["três", "dois", "um"]
    assert rest["next"] is None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_list_queries_do_not_grow_with_rows(api, member, role):
    counts = []
    for rows in (3, 30):
        tenant = factories.TenantFactory()
        numbers = [factories.ChannelFactory(tenant=tenant, kind="whatsapp_gateway",
                                            config={"pairing": {"qr_code": f"2@{index}"}}) for index in range(rows)]
        conversation = factories.ConversationFactory(tenant=tenant, channel=numbers[0])
        for _ in range(rows):
            factories.MessageFactory(conversation=conversation)
        client = api(member(tenant, role, channels=numbers))
        queries = []
        for path in (INSTANCES, "/api/v1/whatsapp/health", f"{INSTANCES}/{numbers[0].public_id}/messages?page_size=100"):
            with CaptureQueriesContext(connection) as context:
                assert client.get(path).status_code == 200
            queries.append(len(context.captured_queries))
        counts.append(queries)

    assert counts[0] == counts[1]


# --- health ----------------------------------------------------------------------------------


def test_health_names_the_three_types_and_the_numbers_statuses(api, acme, member, paired, settings):
    settings.CONNECTION_SERVICE_URL = ""

    body = api(member(acme, Role.VIEWER, channels=(paired,))).get("/api/v1/whatsapp/health").json()

    assert body["providers"] == [
        {"type": "OFFICIAL", "kind": "whatsapp_cloud", "available": True, "sharedServer": False},
        {"type": "EVOLUTION", "kind": "whatsapp_evolution", "available": True, "sharedServer": True},
        {"type": "BAILEYS", "kind": "whatsapp_gateway", "available": True, "sharedServer": False},
    ]
    assert body["instances"] == [{"id": str(paired.public_id), "name": "WhatsApp Celular", "type": "EVOLUTION",
                                  "status": "CONNECTED"}]


# --- seed 004: the same views under /integrations/whatsapp -----------------------------------


def test_seed_004_connects_reads_pairs_and_archives_the_same_numbers(fresh, admin_api):
    created = admin_api.post(INTEGRATIONS, EVOLUTION_BODY, format="json")
    assert created.status_code == 201, created.content
    url = f"{INTEGRATIONS}/{created.json()['id']}"

    assert [item["id"] for item in admin_api.get(INTEGRATIONS).json()] == [created.json()["id"]]
    assert admin_api.get(f"{INSTANCES}/{created.json()['id']}").json() == admin_api.get(url).json()
    connect = admin_api.post(f"{url}/connect")
    assert connect.status_code == 200 and connect.json()["qrcode"].startswith("data:image/png;base64,")
    assert admin_api.get(f"{url}/status").json()["status"] == "QR_PENDING"
    assert admin_api.put(url, {"name": "Loja Centro"}, format="json").json()["name"] == "Loja Centro"
    assert admin_api.delete(url).status_code == 204
    assert admin_api.get(url).status_code == 404


def test_seed_004_refuses_agents_and_other_tenants(api, acme, globex, member, fresh):
    theirs = factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution")

    assert api(member(acme, Role.AGENT)).post(INTEGRATIONS, EVOLUTION_BODY, format="json").status_code == 403
    admin = api(member(acme, Role.TENANT_ADMIN))
    for method, suffix in (("get", ""), ("post", "/connect"), ("get", "/status"), ("delete", "")):
        assert getattr(admin, method)(f"{INTEGRATIONS}/{theirs.public_id}{suffix}").status_code == 404
    assert not WebhookEvent.all_objects.exists() and not fresh.instances
    theirs.refresh_from_db()
    assert theirs.archived_at is None


def test_seed_004_speaks_english_as_the_api_does(admin_api):
    response = admin_api.post(INTEGRATIONS, {"phoneNumber": "+5511987654321"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["name"] == ["This field is required."]
