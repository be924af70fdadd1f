"""The Evolution API simulator answers as Evolution v2.3.6 does (the fixtures' shapes), and posts
webhooks as it does: the instance's headers, its JWT mode, its event filter."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests

from integrations.evolution.simulator import EvolutionSimulator
from tests.integrations.evolution.conftest import fixture_json

GLOBAL = "GLOBAL-KEY"


def _shape(value):
    """The keys of a JSON value, all the way down (lists by their first item)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


@pytest.fixture
def sim():
    with EvolutionSimulator(api_key=GLOBAL, status_progression=()) as simulator:
        yield simulator


@pytest.fixture
def receiver():
    """A webhook receiver: what it got (path, headers, JSON body)."""
    received: list[tuple[str, dict, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}/hook"
    server.received = received
    yield server
    server.shutdown()
    server.server_close()


def _create(sim, name="inbox-test", key=GLOBAL, **extra):
    return requests.post(f"{sim.base_url}/instance/create", headers={"apikey": key}, timeout=5,
                         json={**fixture_json("instance-create.request.json"), "instanceName": name, **extra})


def test_create_answers_the_fixtures_shape_with_a_token_and_a_qr_code(sim):
    answer = _create(sim)

    assert answer.status_code == 201
    body = answer.json()
    assert _shape(body) == _shape(fixture_json("instance-create.response.json"))
    assert body["hash"] == sim.instances["inbox-test"].token and body["qrcode"]["code"].startswith("2@")
    assert sim.instances["inbox-test"].state == "connecting"


def test_the_global_key_creates_and_a_used_name_is_refused(sim):
    assert _create(sim, key="wrong").json() == fixture_json("error-401-unauthorized.response.json")
    _create(sim)
    taken = _create(sim)

    assert taken.status_code == 403
    assert taken.json() == fixture_json("error-403-instance-name-in-use.response.json")


def test_an_instance_answers_its_token_or_the_global_key_only(sim):
    token = _create(sim).json()["hash"]
    url = f"{sim.base_url}/instance/connectionState/inbox-test"

    assert requests.get(url, headers={"apikey": token}, timeout=5).json() == {
        "instance": {"instanceName": "inbox-test", "state": "connecting"}}
    assert requests.get(url, headers={"apikey": GLOBAL}, timeout=5).status_code == 200
    assert requests.get(url, headers={"apikey": "other"}, timeout=5).status_code == 401
    unknown = requests.get(f"{sim.base_url}/instance/connectionState/unknown-instance", headers={"apikey": GLOBAL},
                           timeout=5)
    assert (unknown.status_code, unknown.json()) == (404, fixture_json("error-404-instance-not-found.response.json"))


def test_connect_gives_the_qr_code_or_the_state_once_paired(sim):
    sim.add_instance("inbox-test", token="T")
    closed = requests.get(f"{sim.base_url}/instance/connect/inbox-test", params={"number": "5511987654321"},
                          headers={"apikey": "T"}, timeout=5).json()
    sim.scan("inbox-test", "15555550100")
    paired = requests.get(f"{sim.base_url}/instance/connect/inbox-test", headers={"apikey": "T"}, timeout=5).json()

    assert _shape(closed) == _shape(fixture_json("instance-connect-with-number.response.json"))
    assert len(closed["pairingCode"]) == 8
    assert paired == fixture_json("instance-connect-already-open.response.json")


def test_sends_answer_the_fixtures_shapes(sim):
    sim.add_instance("inbox-test", token="T", state="open", phone="15555550100")
    text = requests.post(f"{sim.base_url}/message/sendText/inbox-test", headers={"apikey": "T"}, timeout=5,
                         json=fixture_json("send-text.request.json"))
    media = requests.post(f"{sim.base_url}/message/sendMedia/inbox-test", headers={"apikey": "T"}, timeout=5,
                          json=fixture_json("send-media-document-base64.request.json"))
    invalid = requests.post(f"{sim.base_url}/message/sendText/inbox-test", headers={"apikey": "T"}, timeout=5,
                            json={"number": "15555550123"})
    wrong_route = requests.post(f"{sim.base_url}/message/sendTxt/inbox-test", headers={"apikey": "T"}, timeout=5,
                                json={})

    assert text.status_code == 201 and _shape(text.json()) == _shape(fixture_json("send-text.response.json"))
    assert len(text.json()["key"]["id"]) == 22 and text.json()["key"]["id"].startswith("3EB0")
    assert media.status_code == 201 and "documentMessage" in media.json()["message"]
    assert invalid.json() == fixture_json("error-400-validation.response.json")
    assert wrong_route.json() == fixture_json("error-404-route.response.json")


def test_a_number_without_whatsapp_is_refused_as_evolution_refuses_it(sim):
    sim.add_instance("inbox-test", token="T", state="open")
    sim.not_on_whatsapp.add("15555550199")

    answer = requests.post(f"{sim.base_url}/message/sendText/inbox-test", headers={"apikey": "T"}, timeout=5,
                           json={"number": "15555550199", "text": "x"})

    assert answer.json() == fixture_json("error-400-number-not-on-whatsapp.response.json")


def test_logout_and_delete_answer_as_evolution(sim):
    sim.add_instance("inbox-test", token="T", state="open")
    url = f"{sim.base_url}/instance"

    assert requests.delete(f"{url}/logout/inbox-test", headers={"apikey": "T"}, timeout=5).json() == fixture_json(
        "instance-logout.response.json")
    assert requests.delete(f"{url}/logout/inbox-test", headers={"apikey": "T"}, timeout=5).json() == fixture_json(
        "error-400-logout-not-connected.response.json")
    assert requests.delete(f"{url}/delete/inbox-test", headers={"apikey": "T"}, timeout=5).json() == fixture_json(
        "instance-delete.response.json")
    assert "inbox-test" not in sim.instances


def test_webhooks_carry_the_instances_headers_in_the_fixtures_envelope(sim, receiver):
    sim.add_instance("inbox-test", token="T", state="open", phone="15555550100", webhook_url=receiver.url,
                     webhook_headers={"x-inbox-webhook-secret": "S"})

    sim.inbound_text("inbox-test", "15555550123", "Hi, is my order shipped?", push_name="Test Customer",
                     lid="100000000000123")
    assert sim.wait_for_webhooks(5)

    (path, headers, body) = receiver.received[0]
    fixture = fixture_json("webhook-messages-upsert-text.json")
    assert path == "/hook" and headers["x-inbox-webhook-secret"] == "S"
    assert set(body) == set(fixture) and body["event"] == "messages.upsert" and body["apikey"] is None
    assert set(body["data"]) == set(fixture["data"]) and body["data"]["key"] == {
        **fixture["data"]["key"], "id": body["data"]["key"]["id"]}
    assert body["sender"] == "15555550100@s.whatsapp.net"


def test_the_jwt_mode_signs_a_token_and_sends_no_key(sim, receiver):
    sim.add_instance("inbox-test", token="T", state="open", webhook_url=receiver.url,
                     webhook_headers={"jwt_key": "the-shared-key-0123456789abcdef-0123"})

    sim.inbound_text("inbox-test")
    assert sim.wait_for_webhooks(5)

    headers = receiver.received[0][1]
    assert "jwt_key" not in {name.lower() for name in headers}
    scheme, token = headers["Authorization"].split(" ")
    claims = jwt.decode(token, "the-shared-key-0123456789abcdef-0123", algorithms=["HS256"])
    assert scheme == "Bearer" and (claims["app"], claims["action"]) == ("evolution", "webhook")
    assert claims["exp"] - claims["iat"] == 600


def test_only_the_events_the_webhook_takes_are_posted_and_by_events_adds_the_path(sim, receiver):
    sim.add_instance("inbox-test", token="T", state="open", webhook_url=receiver.url, events=["CONNECTION_UPDATE"])
    sim.instances["inbox-test"].webhook["byEvents"] = True

    sim.inbound_text("inbox-test")
    sim.close("inbox-test", 440)
    assert sim.wait_for_webhooks(5)

    assert [(path, body["event"]) for path, _, body in receiver.received] == [
        ("/hook/connection-update", "connection.update")]


def test_a_send_is_echoed_then_receipted(sim, receiver):
    sim.status_progression, sim.status_delay = ["DELIVERY_ACK", "READ"], 0.01
    sim.add_instance("inbox-test", token="T", state="open", webhook_url=receiver.url)

    sent = requests.post(f"{sim.base_url}/message/sendText/inbox-test", headers={"apikey": "T"}, timeout=5,
                         json={"number": "15555550123", "text": "x"}).json()
    assert sim.wait_for_webhooks(5)

    events = [(body["event"], body["data"].get("status")) for _, _, body in receiver.received]
    assert events == [("send.message", "PENDING"), ("messages.update", "DELIVERY_ACK"), ("messages.update", "READ")]
    assert {body["data"].get("keyId") or body["data"]["key"]["id"] for _, _, body in receiver.received} == {
        sent["key"]["id"]}
    update = receiver.received[1][2]["data"]
    assert set(update) == set(fixture_json("webhook-messages-update-delivered.json")["data"])


def test_the_licence_gate_answers_503_everywhere(sim):
    sim.license_required = True

    answer = _create(sim)

    assert answer.status_code == 503 and answer.json()["code"] == "LICENSE_REQUIRED"


def test_the_control_endpoints_drive_it_from_another_process(sim, receiver):
    base = f"{sim.base_url}/_sim"
    requests.post(f"{base}/instances", json={"name": "inbox-test", "token": "T", "webhook_url": receiver.url},
                  timeout=5)

    requests.post(f"{base}/scan", json={"instance": "inbox-test", "phone": "5511987654321"}, timeout=5)
    inbound = requests.post(f"{base}/inbound", json={"instance": "inbox-test", "text": "Oi"}, timeout=5).json()
    requests.post(f"{base}/failures", json={"status": 500, "path": "/message/"}, timeout=5)
    failed = requests.post(f"{sim.base_url}/message/sendText/inbox-test", headers={"apikey": "T"}, timeout=5,
                           json={"number": "1", "text": "x"})
    assert requests.post(f"{base}/wait", json={"timeout": 5}, timeout=10).json()["done"]

    assert sim.instances["inbox-test"].state == "open" and inbound["id"]
    assert failed.status_code == 500
    assert [body["event"] for _, _, body in receiver.received] == ["connection.update", "messages.upsert"]
    assert requests.get(f"{base}/webhooks", timeout=5).json()["total"] == 2


def test_the_simulator_command_starts_and_prints_how_to_use_it(capsys):
    from django.core.management import call_command

    call_command("simulator", "whatsapp_evolution", "--port", "0", "--check", "--instance", "inbox-test")

    out = capsys.readouterr().out
    assert "Evolution API simulator on http://127.0.0.1:" in out and "/_sim/scan" in out and "inbox-test" in out


def test_a_webhook_set_to_an_event_evolution_does_not_take_is_refused(sim):
    sim.add_instance("inbox-test", token="T")
    url = f"{sim.base_url}/webhook/set/inbox-test"
    webhook = {"enabled": True, "url": "http://127.0.0.1:9/hook", "events": ["GROUP_UPDATE"]}

    taken = requests.post(url, headers={"apikey": "T"}, json={"webhook": webhook}, timeout=5)
    refused = requests.post(url, headers={"apikey": "T"}, timeout=5,
                            json={"webhook": {**webhook, "events": ["GROUPS_UPDATE"]}})  # the name it posts with

    assert taken.status_code == 201
    assert refused.status_code == 400 and "webhook.events[0] is not one of" in refused.json()["response"]["message"][0]


def test_a_groups_information_answers_the_fixtures_shape(sim):
    sim.add_instance("inbox-test", token="T", state="open", phone="15555550100")
    sim.add_group("inbox-test", "120363000000000001@g.us", "Pedidos da Loja")
    url = f"{sim.base_url}/group/findGroupInfos/inbox-test"

    found = requests.get(url, params={"groupJid": "120363000000000001@g.us"}, headers={"apikey": "T"}, timeout=5)
    missing = requests.get(url, params={"groupJid": "120363999999999999"}, headers={"apikey": "T"}, timeout=5)

    assert found.status_code == 200
    assert _shape(found.json()) == _shape(fixture_json("group-findGroupInfos.response.json"))
    assert found.json()["subject"] == "Pedidos da Loja"
    assert missing.status_code == 404 and missing.json() == {
        **fixture_json("error-404-group-not-found.response.json")}


def test_find_messages_pages_what_the_server_kept_newest_first(sim):
    sim.add_instance("inbox-test", token="T", state="open", phone="15555550100")
    ids = [sim.inbound_text("inbox-test", "15555550123", f"n{n}", timestamp=1750000600 + n) for n in range(3)]
    url = f"{sim.base_url}/chat/findMessages/inbox-test"
    window = {"gte": "2025-06-15T15:16:41+00:00", "lte": "2025-06-15T15:16:42Z"}  # 1750000601, 1750000602

    everything = requests.post(url, headers={"apikey": "T"}, json={"page": 1, "offset": 2}, timeout=5)
    second = requests.post(url, headers={"apikey": "T"}, json={"page": 2, "offset": 2}, timeout=5).json()
    between = requests.post(url, headers={"apikey": "T"}, json={"where": {"messageTimestamp": window}}, timeout=5)
    one_bound = requests.post(url, headers={"apikey": "T"}, timeout=5,
                              json={"where": {"messageTimestamp": {"gte": window["gte"]}}}).json()

    assert everything.status_code == 200
    found = everything.json()["messages"]
    expected = fixture_json("chat-findMessages.response.json")["messages"]
    assert set(found) == set(expected) and set(found["records"][0]) == set(expected["records"][0])
    assert (found["total"], found["pages"], found["currentPage"]) == (3, 2, 1)
    assert [record["key"]["id"] for record in found["records"] + second["messages"]["records"]] == ids[::-1]
    assert [record["key"]["id"] for record in between.json()["messages"]["records"]] == [ids[2], ids[1]]
    assert one_bound["messages"]["total"] == 3  # Evolution filters by time only with both bounds
