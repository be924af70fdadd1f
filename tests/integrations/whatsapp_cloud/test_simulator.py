"""The Graph API simulator answers, fails and signs webhooks the way the fixtures say Meta does."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command

from integrations.management.commands.simulator import Command
from integrations.whatsapp_cloud.simulator import GraphSimulator, webhook_body, webhook_signature
from integrations.whatsapp_cloud.simulator.command import simulator_from_options

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "whatsapp-cloud"
PHONE_NUMBER_ID = "100000000000002"
WABA_ID = "100000000000001"
TOKEN = "EAAG-simulator-token"
APP_SECRET = "FAKE_APP_SECRET_0123456789abcdef"
CUSTOMER = "15555550123"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def shape(value: Any) -> Any:
    """The keys and value types of a JSON document, values aside."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def without_trace(body: dict[str, Any]) -> dict[str, Any]:
    return {"error": {key: value for key, value in body["error"].items() if key != "fbtrace_id"}}


def signed_by(secret: str, headers: dict[str, str], raw: bytes) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-hub-signature-256", ""), expected)


class Receiver:
    """A stand-in for the inbox's webhook endpoint: keeps the raw bytes and headers of every POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []  # statuses to answer next, then 200
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._changed:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/whatsapp_cloud/abc"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 3.0) -> list[tuple[dict[str, str], bytes]]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.posts) >= count, timeout)
            return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(status_delay=0.01, webhook_retry_delays=(0.05, 0.05)) as simulator:
        simulator.add_number(PHONE_NUMBER_ID, token=TOKEN, app_secret=APP_SECRET, waba_id=WABA_ID,
                             throughput_per_second=1000)
        yield simulator


@pytest.fixture
def graph(sim: GraphSimulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    yield session
    session.close()


def send(graph: requests.Session, sim: GraphSimulator, body: dict[str, Any],
         phone_number_id: str = PHONE_NUMBER_ID, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return graph.post(f"{sim.graph_url}/{phone_number_id}/messages", json=body, **kwargs)


def with_webhooks(sim: GraphSimulator, receiver: Receiver) -> None:
    sim.numbers[PHONE_NUMBER_ID].webhook_url = receiver.url


# --- sends ---


def test_send_text_answers_like_meta_and_is_recorded(sim, graph):
    body = fixture("send-text.request.json")

    response = send(graph, sim, body)

    assert response.status_code == 200
    answer = response.json()
    assert shape(answer) == shape(fixture("send.response.json"))
    assert answer["contacts"] == [{"input": "+15555550123", "wa_id": CUSTOMER}]
    wamid = answer["messages"][0]["id"]
    assert wamid.startswith("wamid.") and len(wamid) > 30
    assert [(s["wamid"], s["body"], s["wa_id"]) for s in sim.sent] == [(wamid, body, CUSTOMER)]
    assert sim.stats()["sends_accepted"] == 1
    assert sim.requests[-1]["status"] == 200


def test_every_send_gets_its_own_wamid(sim, graph):
    ids = {send(graph, sim, fixture("send-text.request.json")).json()["messages"][0]["id"] for _ in range(50)}

    assert len(ids) == 50


@pytest.mark.parametrize("name", ["send-text-reply.request.json", "send-image-link.request.json",
                                  "send-image-id.request.json", "send-interactive-buttons.request.json",
                                  "send-interactive-list.request.json", "send-template-named-params.request.json"])
def test_every_send_fixture_is_accepted(sim, graph, name):
    assert send(graph, sim, fixture(name)).status_code == 200


def test_template_send_answers_accepted(sim, graph):
    response = send(graph, sim, fixture("send-template.request.json"))

    assert response.status_code == 200
    assert shape(response.json()) == shape(fixture("send-template.response.json"))
    assert response.json()["messages"][0]["message_status"] == "accepted"


def test_unknown_template_is_132001_and_wrong_parameter_count_is_132000(sim, graph):
    unknown = {**fixture("send-template.request.json"), "template": {"name": "nope", "language": {"code": "en_US"}}}
    hello = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
             "template": {"name": "retomar_atendimento", "language": {"code": "pt_BR"}}}

    missing = send(graph, sim, unknown)
    mismatch = send(graph, sim, hello)

    assert (missing.status_code, missing.json()["error"]["code"]) == (404, 132001)
    assert mismatch.status_code == 400
    assert without_trace(mismatch.json()) == without_trace(fixture("error-132000-template-params.response.json"))
    assert sim.sent == []


@pytest.mark.parametrize(("change", "code", "details"), [
    ({"to": None}, 131008, "The parameter to is required."),
    ({"messaging_product": "sms"}, 100, 'Param messaging_product must be one of {WHATSAPP} - got "sms".'),
    ({"type": "poll"}, 100, None),
    ({"text": {"body": ""}}, 131008, "The parameter text['body'] is required."),
])
def test_invalid_send_bodies_are_refused_like_meta(sim, graph, change, code, details):
    body = {**fixture("send-text.request.json"), **change}

    response = send(graph, sim, {key: value for key, value in body.items() if value is not None})

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["type"]) == (400, code, "OAuthException")
    assert shape(response.json()) == shape(fixture("error-100-invalid-parameter.response.json"))
    assert details is None or error["error_data"]["details"] == details
    assert sim.sent == []


def test_bad_token_is_190_with_401(sim, graph):
    graph.headers["Authorization"] = "Bearer wrong"

    response = send(graph, sim, fixture("send-text.request.json"))
    info = graph.get(f"{sim.graph_url}/{PHONE_NUMBER_ID}")

    for answer in (response, info):
        assert answer.status_code == 401
        assert without_trace(answer.json()) == without_trace(fixture("error-190-invalid-token.response.json"))
        assert answer.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')
    assert sim.sent == []


def test_unknown_phone_number_id_is_100(sim, graph):
    # Graph's answer for an object that does not exist or that the token cannot see: code 100, subcode 33.
    response = send(graph, sim, fixture("send-text.request.json"), phone_number_id="999999999999999")
    info = graph.get(f"{sim.graph_url}/999999999999999")

    for answer, verb in ((response, "post"), (info, "get")):
        error = answer.json()["error"]
        assert answer.status_code == 400
        assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")
        assert error["message"].startswith(f"Unsupported {verb} request. Object with ID '999999999999999'")


def test_phone_number_info(sim, graph):
    full = graph.get(f"{sim.graph_url}/{PHONE_NUMBER_ID}").json()
    some = graph.get(f"{sim.graph_url}/{PHONE_NUMBER_ID}", params={"fields": "verified_name,quality_rating"}).json()

    assert full["id"] == PHONE_NUMBER_ID
    assert {"display_phone_number", "verified_name", "quality_rating", "code_verification_status"} <= set(full)
    assert full["display_phone_number"] == "+15555550100"
    assert some == {"verified_name": "Inbox Test", "quality_rating": "GREEN", "id": PHONE_NUMBER_ID}


def test_throughput_cap_answers_130429(sim, graph):
    # A low cap, so that even a busy machine sends faster than it refills.
    sim.numbers[PHONE_NUMBER_ID].throughput_per_second = 10
    sim.numbers[PHONE_NUMBER_ID].refill()
    body = fixture("send-text.request.json")

    started = time.monotonic()
    responses = [send(graph, sim, body) for _ in range(40)]
    elapsed = time.monotonic() - started

    rejected = [r for r in responses if r.status_code != 200]
    assert rejected and all(r.status_code == 429 for r in rejected)
    assert all(without_trace(r.json()) == without_trace(fixture("error-130429-rate-limit.response.json"))
               for r in rejected)
    accepted = 40 - len(rejected)
    assert 10 <= accepted <= 10 + math.ceil(elapsed * 10) + 1
    assert (sim.sends_accepted, sim.sends_rejected_cap, len(sim.sent)) == (accepted, len(rejected), accepted)


def test_one_keep_alive_connection_serves_many_sends(sim, graph):
    body = fixture("send-text.request.json")
    sim.numbers[PHONE_NUMBER_ID].throughput_per_second = 0  # no cap

    statuses = {send(graph, sim, body).status_code for _ in range(300)}

    assert statuses == {200}
    assert sim.stats()["connections"] == 1


# --- failures on demand ---


@pytest.mark.parametrize(("code", "subcode", "name", "http_status"), [
    (130429, None, "error-130429-rate-limit.response.json", 429),
    (131056, None, "error-131056-pair-rate-limit.response.json", 400),
    (132000, None, "error-132000-template-params.response.json", 400),
    (100, None, "error-100-invalid-parameter.response.json", 400),
    (190, None, "error-190-invalid-token.response.json", 401),
])
def test_injected_errors_are_the_fixtures(sim, graph, code, subcode, name, http_status):
    sim.fail_next(code=code, subcode=subcode)

    failed = send(graph, sim, fixture("send-text.request.json"))
    then = send(graph, sim, fixture("send-text.request.json"))

    assert failed.status_code == http_status
    assert without_trace(failed.json()) == without_trace(fixture(name))
    assert failed.json()["error"]["fbtrace_id"]
    assert then.status_code == 200
    assert len(sim.sent) == 1


def test_injected_expired_token_is_190_subcode_463(sim, graph):
    sim.fail_next(code=190, subcode=463)

    response = send(graph, sim, fixture("send-text.request.json"))

    assert response.status_code == 401
    assert shape(response.json()) == shape(fixture("error-190-expired-token.response.json"))
    assert response.json()["error"]["message"].startswith("Error validating access token: Session has expired")


@pytest.mark.parametrize(("code", "title_from"), [
    (131047, "status-failed.json"), (131026, "status-failed-131026.json"), (131049, "status-failed-131049.json"),
    (131000, "error-codes.json"),
])
def test_injected_errors_carry_metas_titles_and_statuses(sim, graph, code, title_from):
    table = {row["code"]: row for row in fixture("error-codes.json")["codes"]}
    if title_from == "error-codes.json":
        title = table[code]["title"]
    else:
        title = fixture(title_from)["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["title"]
    sim.fail_next(code=code)

    response = send(graph, sim, fixture("send-text.request.json"))

    assert response.status_code == (table[code]["typical_http_status"] or 400)
    assert response.json()["error"]["message"] == f"(#{code}) {title}"
    assert shape(response.json()) == shape(fixture("error-100-invalid-parameter.response.json"))


def test_injected_failure_can_target_one_recipient_a_number_of_times(sim, graph):
    sim.fail_next(2, code=131056, recipient="+1 555-555-0199")
    other = {**fixture("send-text.request.json"), "to": "+15555550199"}

    to_customer = send(graph, sim, fixture("send-text.request.json"))
    to_other = [send(graph, sim, other).status_code for _ in range(3)]

    assert to_customer.status_code == 200
    assert to_other == [400, 400, 200]
    assert sim.failures == []


@pytest.mark.parametrize(("http_status", "graph_code"), [(500, 1), (503, 2)])
def test_injected_server_errors(sim, graph, http_status, graph_code):
    sim.fail_next(http_status=http_status)

    response = send(graph, sim, fixture("send-text.request.json"))

    assert response.status_code == http_status
    error = response.json()["error"]
    assert (error["code"], error["is_transient"], error["type"]) == (graph_code, True, "OAuthException")
    assert sim.sent == []


def test_injected_hang_times_the_client_out_and_then_accepts(sim, graph):
    sim.fail_next(hang_seconds=0.4)

    with pytest.raises(requests.Timeout):
        send(graph, sim, fixture("send-text.request.json"), timeout=0.1)
    deadline = time.monotonic() + 3
    while not sim.sent and time.monotonic() < deadline:
        time.sleep(0.02)

    # The client gave up, yet the message went: what a retry must not send twice.
    assert len(sim.sent) == 1


# --- held answers ---


def send_in_background(sim: GraphSimulator, body: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """A send from another thread, as a worker makes it: its response (or error) and how long it took."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["response"] = requests.post(f"{sim.graph_url}/{PHONE_NUMBER_ID}/messages", json=body,
                                                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        except requests.RequestException as error:
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_held_send_is_accepted_at_once_and_answered_late(sim, receiver):
    with_webhooks(sim, receiver)
    sim.hold_sends(1.0)

    thread, outcome = send_in_background(sim, fixture("send-text.request.json"))
    accepted = sim.wait_for_sends(1, timeout=3)
    answered_yet = "seconds" in outcome
    posts = receiver.wait_for(3)
    thread.join(5)

    # Sent and reported while the sender still waits for its answer: what a killed worker leaves.
    assert accepted and not answered_yet
    assert len(sim.sent) == 1 and sim.stats()["sends_accepted"] == 1
    assert [json.loads(raw)["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for _, raw in posts] == [
        "sent", "delivered", "read"]
    assert outcome["response"].status_code == 200 and outcome["seconds"] >= 1.0
    assert outcome["response"].json()["messages"][0]["id"] == sim.sent[0]["wamid"]


def test_only_accepted_sends_are_held(sim, graph):
    sim.hold_sends(30)
    sim.fail_next(code=131056)

    started = time.monotonic()
    refused = send(graph, sim, fixture("send-text.request.json"))
    mark_read = send(graph, sim, fixture("send-mark-read.request.json"))

    assert refused.status_code == 400 and mark_read.status_code == 400
    assert time.monotonic() - started < 5
    assert sim.sent == []


def test_turning_the_hold_off_lets_held_answers_go(sim, graph):
    sim.hold_sends(30)
    thread, outcome = send_in_background(sim, fixture("send-text.request.json"))
    assert sim.wait_for_sends(1, timeout=3)

    sim.hold_sends(0)
    thread.join(5)
    then = send(graph, sim, fixture("send-text.request.json"), timeout=2)

    assert outcome["response"].status_code == 200 and outcome["seconds"] < 5
    assert then.status_code == 200 and sim.sends_accepted == 2


def test_stop_does_not_wait_for_held_answers():
    simulator = GraphSimulator(status_progression=())
    simulator.start()
    simulator.add_number(PHONE_NUMBER_ID, token=TOKEN, app_secret=APP_SECRET, waba_id=WABA_ID)
    simulator.hold_sends(30)
    thread, _ = send_in_background(simulator, fixture("send-text.request.json"))
    assert simulator.wait_for_sends(1, timeout=3)

    started = time.monotonic()
    simulator.stop()
    thread.join(5)

    assert time.monotonic() - started < 5
    assert not thread.is_alive()


def test_wait_for_sends_counts_accepted_sends_only(sim, graph):
    sim.fail_next(code=131056)
    for _ in range(3):
        send(graph, sim, fixture("send-text.request.json"))

    assert sim.wait_for_sends(2, timeout=1)
    assert not sim.wait_for_sends(3, timeout=0.1)


def test_hold_over_the_control_api(sim):
    base = sim.base_url

    held = requests.post(f"{base}/_sim/hold", timeout=5, json={"seconds": 30})
    holding = sim.send_hold_seconds
    released = requests.post(f"{base}/_sim/hold", timeout=5, json={"seconds": 0})
    missing = requests.post(f"{base}/_sim/hold", timeout=5, json={})
    negative = requests.post(f"{base}/_sim/hold", timeout=5, json={"seconds": -1})

    assert (held.status_code, held.json(), holding) == (200, {"seconds": 30}, 30)
    assert (released.status_code, released.json(), sim.send_hold_seconds) == (200, {"seconds": 0}, 0)
    assert missing.status_code == 400 and negative.status_code == 400


# --- webhooks ---


def test_status_webhooks_arrive_in_order_signed_and_shaped_like_meta(sim, graph, receiver):
    with_webhooks(sim, receiver)

    wamid = send(graph, sim, fixture("send-text.request.json")).json()["messages"][0]["id"]
    assert sim.wait_for_webhooks(3)
    posts = receiver.wait_for(3)

    assert len(posts) == 3
    for headers, raw in posts:
        assert signed_by(APP_SECRET, headers, raw)
        assert headers["content-type"] == "application/json"
    payloads = [json.loads(raw) for _, raw in posts]
    statuses = [p["entry"][0]["changes"][0]["value"]["statuses"][0] for p in payloads]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {wamid} and {s["recipient_id"] for s in statuses} == {CUSTOMER}
    for payload, name in zip(payloads, ["status-sent.json", "status-delivered.json", "status-read.json"], strict=True):
        assert shape(payload) == shape(fixture(name))
        assert payload["entry"][0]["id"] == WABA_ID
        assert payload["entry"][0]["changes"][0]["value"]["metadata"] == {"display_phone_number": "15555550100",
                                                                         "phone_number_id": PHONE_NUMBER_ID}
    assert [entry["http_status"] for entry in sim.webhook_log] == [200, 200, 200]
    assert sim.sent[0]["statuses"] == ["sent", "delivered", "read"]
    assert sim.stats()["webhooks_acknowledged"] == 3


def test_template_statuses_are_the_v24_template_shape(sim, graph, receiver):
    with_webhooks(sim, receiver)
    sim.status_progression = ["sent"]

    send(graph, sim, {**fixture("send-template.request.json"), "biz_opaque_callback_data": "order-0001"})
    assert sim.wait_for_webhooks(3)

    (_, raw), = receiver.wait_for(1)
    assert shape(json.loads(raw)) == shape(fixture("status-sent-template-marketing.json"))


def test_status_progression_can_be_turned_off(sim, graph, receiver):
    with_webhooks(sim, receiver)
    sim.status_progression = []

    send(graph, sim, fixture("send-text.request.json"))

    assert sim.wait_for_webhooks(1)
    assert receiver.posts == [] and list(sim.webhook_log) == []


@pytest.mark.parametrize(("code", "name"), [(131047, "status-failed.json"), (131026, "status-failed-131026.json")])
def test_async_failure_accepts_then_reports_failed(sim, graph, receiver, code, name):
    with_webhooks(sim, receiver)
    sim.fail_async(code=code)

    response = send(graph, sim, fixture("send-text.request.json"))
    assert sim.wait_for_webhooks(3)

    assert response.status_code == 200
    (headers, raw), = receiver.wait_for(1)
    payload = json.loads(raw)
    expected = fixture(name)
    assert signed_by(APP_SECRET, headers, raw)
    assert shape(payload) == shape(expected)
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["status"] == "failed" and status["id"] == response.json()["messages"][0]["id"]
    assert status["errors"] == expected["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"]


def test_inbound_text_is_signed_and_shaped_like_meta(sim, receiver):
    with_webhooks(sim, receiver)

    wamid = sim.inbound_text(PHONE_NUMBER_ID, from_wa_id=CUSTOMER, text="Olá, café? ☕", name="José")
    assert sim.wait_for_webhooks(3)
    (headers, raw), = receiver.wait_for(1)

    assert signed_by(APP_SECRET, headers, raw)
    assert b"Jos\\u00e9" in raw and b"\\u2615" in raw  # escaped unicode, as Meta sends (and signs) it
    payload = json.loads(raw)
    assert shape(payload) == shape(fixture("inbound-text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "José"}, "wa_id": CUSTOMER}]
    assert value["messages"][0]["id"] == wamid and value["messages"][0]["text"] == {"body": "Olá, café? ☕"}
    assert sim.webhook_log[-1]["http_status"] == 200 and sim.webhook_log[-1]["body"] == raw


def test_inbound_duplicate_posts_the_same_bytes_twice(sim, receiver):
    with_webhooks(sim, receiver)

    sim.inbound_text(PHONE_NUMBER_ID, text="twice", duplicate=True)
    posts = receiver.wait_for(2)

    assert len(posts) == 2 and posts[0][1] == posts[1][1]


def test_inbound_batch_is_shaped_like_the_batched_fixture(sim, receiver):
    sim.add_number("100000000000004", token="other", app_secret=APP_SECRET, waba_id="100000000000003",
                   webhook_url=receiver.url, display_phone_number="+15555550101")
    with_webhooks(sim, receiver)

    ids = sim.inbound_batch([
        {"phone_number_id": PHONE_NUMBER_ID, "from": CUSTOMER, "name": "Test Customer", "text": "first"},
        {"phone_number_id": PHONE_NUMBER_ID, "from": "15555550124", "name": "Second", "text": "second"},
        {"phone_number_id": PHONE_NUMBER_ID, "status": "delivered", "id": "wamid.A", "recipient_id": CUSTOMER},
        {"phone_number_id": PHONE_NUMBER_ID, "status": "read", "id": "wamid.B", "recipient_id": "15555550124"},
        {"phone_number_id": "100000000000004", "from": "15555550126", "name": "Third", "text": "third"},
    ])
    (headers, raw), = receiver.wait_for(1)

    assert signed_by(APP_SECRET, headers, raw)
    assert shape(json.loads(raw)) == shape(fixture("webhook-batched-multi.json"))
    assert len(ids) == 5 and ids[2:4] == ["wamid.A", "wamid.B"]


def test_webhook_is_retried_on_non_200(sim, receiver):
    with_webhooks(sim, receiver)
    receiver.answers = [500]

    sim.inbound_text(PHONE_NUMBER_ID, text="retry me")
    assert sim.wait_for_webhooks(3)
    posts = receiver.wait_for(2)

    assert len(posts) == 2 and posts[0][1] == posts[1][1]
    assert [(e["attempt"], e["http_status"]) for e in sim.webhook_log] == [(1, 500), (2, 200)]
    assert (sim.webhooks_posted, sim.webhooks_acknowledged) == (2, 1)


def test_inbound_image_media_can_be_fetched_like_meta(sim, graph, receiver):
    with_webhooks(sim, receiver)

    sim.inbound_image(PHONE_NUMBER_ID, caption="Photo of the damaged box", content=b"\xff\xd8 jpeg \xff\xd9",
                      mime_type="image/jpeg")
    (_, raw), = receiver.wait_for(1)
    image = json.loads(raw)["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    meta = graph.get(f"{sim.graph_url}/{image['id']}").json()
    download = graph.get(meta["url"])
    anonymous = requests.get(meta["url"], timeout=5)

    assert shape(json.loads(raw)) == shape(fixture("inbound-image.json"))
    assert shape(meta) == shape(fixture("media-get-url.response.json"))
    assert (download.status_code, download.content, download.headers["Content-Type"]) == (
        200, b"\xff\xd8 jpeg \xff\xd9", "image/jpeg")
    assert meta["sha256"] == hashlib.sha256(download.content).hexdigest()
    assert anonymous.status_code == 401


def test_media_upload_returns_an_id_that_serves_the_same_bytes(sim, graph):
    content = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"

    response = graph.post(f"{sim.graph_url}/{PHONE_NUMBER_ID}/media", timeout=5,
                          data={"messaging_product": "whatsapp", "type": "application/pdf"},
                          files={"file": ("invoice.pdf", content, "application/pdf")})
    meta = graph.get(f"{sim.graph_url}/{response.json()['id']}").json()

    assert response.status_code == 200
    assert shape(response.json()) == shape(fixture("media-upload.response.json"))
    assert meta["mime_type"] == "application/pdf" and meta["file_size"] == str(len(content))
    assert graph.get(meta["url"]).content == content


# --- signatures, mark-read, templates ---


def test_signature_reproduces_the_vectors():
    ours, upstream = fixture("signature-vector.json")["vectors"]
    raw = ours["raw_body"].encode()

    assert webhook_signature(ours["app_secret"], raw) == ours["headers"]["X-Hub-Signature-256"]
    assert webhook_signature(ours["app_secret"], raw) == "sha256=" + ours["expected_signature_hex"]
    assert webhook_body(json.loads(raw)) == raw  # the simulator serialises as Meta does
    assert webhook_signature(upstream["app_secret"],
                             upstream["escaped_body_actually_hashed"].encode()) == upstream["header_value"]


def test_mark_read(sim, graph, receiver):
    with_webhooks(sim, receiver)
    wamid = sim.inbound_text(PHONE_NUMBER_ID, text="hello")

    read = send(graph, sim, {**fixture("send-mark-read.request.json"), "message_id": wamid})
    unknown = send(graph, sim, fixture("send-mark-read.request.json"))

    assert (read.status_code, read.json()) == (200, fixture("send-mark-read.response.json"))
    assert [r["message_id"] for r in sim.read_receipts] == [wamid]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, 131009)
    assert sim.sent == []


def test_any_webhook_body_can_be_posted_signed_and_its_messages_marked_read(sim, graph, receiver):
    with_webhooks(sim, receiver)
    raw = (FIXTURES / "inbound-text.json").read_bytes()

    sim.post_raw(PHONE_NUMBER_ID, raw)
    (headers, received), = receiver.wait_for(1)
    read = send(graph, sim, fixture("send-mark-read.request.json"))

    assert received == raw and signed_by(APP_SECRET, headers, received)
    assert (read.status_code, read.json()) == (200, {"success": True})


def test_templates_are_listed_and_configurable(sim, graph):
    url = f"{sim.graph_url}/{WABA_ID}/message_templates"

    listed = graph.get(url).json()
    first_page = graph.get(url, params={"limit": 2}).json()
    second_page = graph.get(first_page["paging"]["next"]).json()
    sim.set_templates(WABA_ID, [{"name": "only_one", "language": "es", "category": "MARKETING",
                                 "components": [{"type": "BODY", "text": "Hola {{1}}"}]}])
    replaced = graph.get(url).json()

    names = {(t["name"], t["language"]) for t in listed["data"]}
    assert {("hello_world", "en_US"), ("retomar_atendimento", "pt_BR")} <= names
    assert all(t["status"] == "APPROVED" and t["id"] and t["components"] for t in listed["data"])
    assert "{{1}}" in next(t for t in listed["data"] if t["language"] == "pt_BR")["components"][0]["text"]
    assert set(listed["paging"]["cursors"]) == {"before", "after"}
    assert [t["name"] for t in first_page["data"] + second_page["data"]] == [t["name"] for t in listed["data"]]
    assert [(t["name"], t["status"]) for t in replaced["data"]] == [("only_one", "APPROVED")]
    assert graph.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


# --- control over HTTP and the command ---


def test_control_endpoints(sim, receiver):
    base = sim.base_url

    registered = requests.post(f"{base}/_sim/numbers", timeout=5, json={
        "phone_number_id": "200", "token": "t2", "app_secret": "s2", "waba_id": "300", "webhook_url": receiver.url,
        "throughput_per_second": 5})
    failure = requests.post(f"{base}/_sim/failures", timeout=5, json={"code": 131056, "count": 1})
    refused = requests.post(f"{base}/v21.0/200/messages", timeout=5, headers={"Authorization": "Bearer t2"},
                            json=fixture("send-text.request.json"))
    accepted = requests.post(f"{base}/v22.0/200/messages", timeout=5, headers={"Authorization": "Bearer t2"},
                             json=fixture("send-text.request.json"))
    inbound = requests.post(f"{base}/_sim/inbound", timeout=5,
                            json={"phone_number_id": "200", "from": CUSTOMER, "text": "hi", "duplicate": True})
    waited = requests.post(f"{base}/_sim/wait", timeout=5, json={"timeout": 3})
    sent = requests.get(f"{base}/_sim/sent", timeout=5).json()
    hooks = requests.get(f"{base}/_sim/webhooks", timeout=5).json()
    stats = requests.get(f"{base}/_sim/stats", timeout=5).json()
    reset = requests.post(f"{base}/_sim/reset", timeout=5)

    assert registered.status_code == 201 and registered.json()["token"] == "…"  # secrets are not echoed
    assert failure.status_code == 201 and refused.json()["error"]["code"] == 131056
    assert accepted.status_code == 200
    assert inbound.json()["id"].startswith("wamid.") and waited.json()["done"] is True
    assert [s["wamid"] for s in sent["data"]] == [accepted.json()["messages"][0]["id"]]
    assert len([h for h in hooks["data"] if h["kind"] == "inbound"]) == 2
    assert (stats["sends_accepted"], stats["sends_failed_injected"]) == (1, 1)
    assert reset.status_code == 200 and sim.sent == [] and sim.stats()["sends_accepted"] == 0
    assert requests.post(f"{base}/_sim/failures", timeout=5, json={}).status_code == 400


def test_command_options_make_the_simulator():
    parser = Command().create_parser("manage.py", "simulator")
    options = vars(parser.parse_args(["whatsapp_cloud", "--port", "0", "--webhook-url", "http://127.0.0.1:9/hook",
                                      "--phone-number-id", "123", "--token", "tok", "--app-secret", "sec",
                                      "--waba-id", "456", "--throughput", "20", "--no-statuses"]))

    simulator = simulator_from_options(options)

    number = simulator.numbers["123"]
    assert (number.token, number.app_secret, number.waba_id, number.webhook_url, number.throughput_per_second) == (
        "tok", "sec", "456", "http://127.0.0.1:9/hook", 20)
    assert simulator.status_progression == []


def test_command_check_starts_prints_and_stops():
    out = io.StringIO()

    call_command("simulator", "whatsapp_cloud", "--port", "0", "--check", "--token", "tok", stdout=out)

    text = out.getvalue()
    assert "WHATSAPP_GRAPH_API_URL=http://127.0.0.1:" in text
    assert "100000000000002" in text and "Bearer tok" in text
    assert "/_sim/failures" in text and "/_sim/hold" in text


@pytest.mark.django_db
def test_the_command_serves_the_installations_sandbox_channels(acme):
    from io import StringIO

    from django.core.management import call_command

    from config.crypto import Secrets
    from tests import factories

    channel = factories.ChannelFactory(
        tenant=acme, kind="whatsapp_cloud",
        config={"phone_number_id": "100000000000101", "waba_id": "100000000000100", "sandbox": True},
        credentials=Secrets({"access_token": "DEMO-token", "app_secret": "demo-secret"}))
    out = StringIO()

    call_command("simulator", "whatsapp_cloud", "--sandbox-channels", "--check", "--port", "0", stdout=out)

    assert "100000000000101" in out.getvalue() and channel.webhook_url in out.getvalue()
    assert "DEMO-token" in out.getvalue()
