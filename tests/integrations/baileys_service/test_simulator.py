"""The connection service simulator itself: what it posts is what the service posts (signed,
in the envelope, a Baileys WAMessage inside), its control endpoints, and its management entry."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command

from channels_app.models import Channel
from config.crypto import Secrets
from contacts.models import ContactIdentity
from conversations.models import Message
from integrations.baileys_service.adapter import ConnectionServiceAdapter
from integrations.baileys_service.events import SIGNATURE_HEADER, webhook_parse, webhook_verify
from integrations.baileys_service.simulator import ConnectionServiceSimulator
from integrations.baileys_service.simulator.command import simulator_from_options
from tests import factories
from tests.integrations.baileys_service.conftest import API_KEY, SECRET, SESSION


def _call(simulator, method, path, body=None, headers=None):
    request = urllib.request.Request(simulator.base_url + path, method=method, headers=headers or {},
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def simulator():
    with ConnectionServiceSimulator(api_key=API_KEY, status_delay=0.01) as running:
        yield running


def test_the_service_refuses_a_missing_or_wrong_key(simulator):
    simulator.add_session(SESSION)

    assert _call(simulator, "GET", f"/api/v1/sessions/{SESSION}/status")[0] == 401
    assert _call(simulator, "GET", f"/sessions/{SESSION}/status", headers={"X-API-KEY": "nope"})[0] == 401
    assert _call(simulator, "GET", f"/sessions/{SESSION}/status", headers={"X-API-KEY": API_KEY})[0] == 200
    assert _call(simulator, "GET", f"/api/v1/sessions/{SESSION}/status",
                 headers={"Authorization": f"Bearer {API_KEY}"})[0] == 200


def test_a_session_starts_with_a_qr_code_and_answers_as_the_seed_says(simulator):
    bearer = {"Authorization": f"Bearer {API_KEY}"}

    status, started = _call(simulator, "POST", f"/api/v1/sessions/{SESSION}/start", {}, bearer)
    _, state = _call(simulator, "GET", f"/api/v1/sessions/{SESSION}/status", headers=bearer)
    simulator.scan(SESSION, phone="5511987654321")
    _, paired = _call(simulator, "GET", f"/api/v1/sessions/{SESSION}/status", headers=bearer)

    assert status == 200 and set(started) == {"success", "sessionId", "qrCode"}
    assert started["qrCode"].startswith("data:image/png;base64,")
    assert set(state) == {"connected", "status", "phoneNumber", "qrCode", "lastActivity"}
    assert state["connected"] is False and state["qrCode"] == started["qrCode"]
    assert paired["connected"] is True and paired["phoneNumber"] == "5511987654321"


def test_what_it_posts_is_signed_and_read_as_the_service_sends_it(simulator):
    simulator.add_session(SESSION, secret=SECRET, connected=True, phone="15555550100")

    message_id = simulator.inbound_text(SESSION, phone="5511987654321", text="Olá, café? ☕", name="José",
                                        lid="100000000000777@lid")

    (entry,) = simulator.webhook_log
    body = entry["body"]
    assert webhook_verify(body=body, headers={SIGNATURE_HEADER: _signature(body)}, secret=SECRET)
    envelope = json.loads(body)
    assert (envelope["event"], envelope["tenantId"]) == ("message", SESSION)
    assert envelope["data"]["key"]["remoteJid"] == "100000000000777@lid"
    (update,) = webhook_parse(body).updates
    (message,) = update.messages
    assert (message.provider_message_id, message.content, message.contact_external_id) == (
        message_id, "Olá, café? ☕", "5511987654321")
    assert "100000000000777@lid" in message.contact_aliases


def _signature(body: bytes) -> str:
    from integrations.baileys_service.events import signature_for

    return signature_for(body, SECRET)


def test_a_send_is_answered_then_followed_by_its_receipts_in_order(simulator):
    simulator.add_session(SESSION, connected=True, phone="15555550100")

    status, answer = _call(simulator, "POST", "/message/send", {"tenantId": SESSION, "to": "5511987654321",
                                                                 "message": "Oi", "type": "text"},
                           {"X-API-KEY": API_KEY})
    assert simulator.wait_for_webhooks(timeout=5)

    assert status == 200 and answer["success"] is True and answer["messageId"].startswith("3EB0")
    receipts = [json.loads(entry["body"])["data"][0] for entry in simulator.webhook_log]
    assert [receipt["update"]["status"] for receipt in receipts] == [3, 4]
    assert {receipt["key"]["id"] for receipt in receipts} == {answer["messageId"]}
    assert receipts[0]["key"]["remoteJid"] == "5511987654321@s.whatsapp.net" and receipts[0]["key"]["fromMe"]


def test_the_control_endpoints_drive_it_from_another_process(simulator):
    assert _call(simulator, "POST", "/_sim/sessions", {"session": SESSION, "secret": SECRET})[0] == 201
    assert _call(simulator, "POST", "/_sim/scan", {"session": SESSION, "phone": "5511900000000"})[1]["status"] == (
        "connected")
    inbound = _call(simulator, "POST", "/_sim/inbound", {"session": SESSION, "text": "Oi", "group": "1203630001"})
    assert _call(simulator, "POST", "/_sim/failures", {"status": 503})[0] == 201
    failed = _call(simulator, "POST", f"/api/v1/messages/{SESSION}/send", {"to": "1", "message": "x"},
                   {"Authorization": f"Bearer {API_KEY}"})
    _, webhooks = _call(simulator, "GET", "/_sim/webhooks")

    assert inbound[0] == 200 and inbound[1]["id"]
    assert failed[0] == 503 and failed[1]["success"] is False
    assert [item["event"] for item in webhooks["data"]] == ["connection", "message"]
    group = json.loads(webhooks["data"][1]["body"])["data"]["key"]
    assert group["remoteJid"] == "1203630001@g.us" and group["participant"].endswith("@s.whatsapp.net")
    assert _call(simulator, "POST", "/_sim/nope")[0] == 404


@pytest.mark.django_db(transaction=True)
def test_its_inbound_messages_land_in_the_inbox_once(live_server, acme):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_gateway", config={"session_id": SESSION},
                                       credentials=Secrets({"webhook_secret": SECRET}))
    url = f"{live_server.url}/webhooks/whatsapp_gateway/{channel.webhook_token}"
    with ConnectionServiceSimulator(api_key=API_KEY) as simulator:
        simulator.add_session(SESSION, webhook_url=url, secret=SECRET, connected=True, phone="15555550100")
        simulator.inbound_text(SESSION, phone="5511987654321", text="Sou eu, pelo lid", lid="100000000000777@lid")
        simulator.inbound_text(SESSION, phone="5511987654321", text="Oi!", duplicate=True)
        simulator.inbound_text(SESSION, phone="5511987654321", text="Respondi pelo celular", from_me=True)
        simulator.inbound_text(SESSION, phone="5511987654321", text="Oi, grupo", group="120363000000000009")

    assert [entry["http_status"] for entry in simulator.webhook_log] == [200] * 5
    assert Message.all_objects.filter(channel=channel).count() == 4
    person = ContactIdentity.all_objects.get(channel=channel, external_id="5511987654321").contact
    assert set(person.identities.values_list("external_id", flat=True)) == {
        "5511987654321", "551187654321", "100000000000777@lid"}
    assert Message.all_objects.get(content="Respondi pelo celular").direction == Message.Direction.OUTBOUND
    group = Message.all_objects.get(content="Oi, grupo")
    assert group.content_attributes["author"]["phone"] == "+5511987654321"


def test_the_simulator_command_prints_how_to_use_it():
    out = io.StringIO()

    call_command("simulator", "whatsapp_gateway", "--port", "0", "--check", "--session", SESSION, stdout=out)

    text = out.getvalue()
    assert "Connection service simulator on http://127.0.0.1:" in text and SESSION in text
    assert "/_sim/scan" in text and "/_sim/inbound" in text


@pytest.mark.django_db
def test_it_serves_the_demos_sandbox_channel_paired_already(acme):
    (demo,) = ConnectionServiceAdapter.demo_channels(tenant_slug="acme", tenant_name="Acme", number=1)
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_gateway", config=demo.config,
                                       credentials=Secrets(demo.credentials))
    factories.ChannelFactory(tenant=acme, kind="whatsapp_gateway", config={"session_id": "real"})  # not sandbox

    simulator = simulator_from_options({"host": "127.0.0.1", "port": 0, "api_key": "ignored", "auth_header": "either",
                                        "no_statuses": False, "status_delay": 0.1, "sandbox_channels": True})

    (session,) = simulator.sessions.values()
    assert session.session_id == channel.config["session_id"] and session.status == "connected"
    assert (session.webhook_url, session.secret) == (channel.webhook_url, demo.credentials["webhook_secret"])
    assert simulator.api_key == demo.credentials["api_key"]
    assert ConnectionServiceAdapter(channel).service.base_url == "http://127.0.0.1:8083"
    assert Channel.all_objects.filter(kind="whatsapp_gateway", config__sandbox=True).count() == 1


def test_the_demo_has_a_sandbox_number_of_its_own_on_this_kind():
    from integrations.registry import demo_channels

    found = demo_channels(tenant_slug="acme", tenant_name="Acme", number=1)

    (mine,) = [demo for kind, demo in found if kind == "whatsapp_gateway"]
    assert [demo.role for _, demo in found].count(mine.role) == 1  # no other provider claims its role first
    assert mine.config["sandbox"] and mine.config["session_id"] == "demo-acme"
