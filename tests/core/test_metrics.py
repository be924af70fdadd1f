"""GET /metrics: Prometheus' text format, scraped with the test client and read back with
prometheus_client's own parser; off, token and network protection; the counters of requests,
queues, sockets and outbound webhook deliveries moving."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from kombu import Queue
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Role
from config.metrics import count_webhook_delivery, metrics_exposition

TOKEN = "scrape-token-0123456789"


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(client: Client, token: str = TOKEN, **extra: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_on(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def test_metrics_are_off_unless_a_token_or_networks_are_set(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_require_the_bearer_token(client: Client, metrics_on: None) -> None:
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    basic = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")

    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"inbox_" not in missing.content + wrong.content
    assert scrape(client)  # with it: the text, parsed


def test_metrics_answer_only_the_allowed_networks(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "fd00::/8"]

    outside = client.get("/metrics", REMOTE_ADDR="192.0.2.10")
    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    inside_v6 = client.get("/metrics", REMOTE_ADDR="fd00::5")
    # A client's own X-Forwarded-For is not believed (no trusted proxy)...
    forged = client.get("/metrics", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="10.1.2.3")
    settings.TRUSTED_PROXIES = ["192.0.2.1"]
    # ...our proxy's is (config.client_ip).
    proxied = client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9")

    assert (outside.status_code, forged.status_code) == (403, 403)
    assert (inside.status_code, inside_v6.status_code, proxied.status_code) == (200, 200, 200)
    parse(inside.content.decode())


def test_with_both_set_a_scrape_needs_the_network_and_the_token(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = TOKEN, ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_status_and_time_not_by_path(client: Client, metrics_on: None,
                                                                        acme: Any, member: Any, api: Any) -> None:
    before = scrape(client)
    client.get("/api/health")
    client.get("/api/health")
    unknown = uuid.uuid4()
    assert api(member(acme, Role.AGENT)).get(f"/api/v1/conversations/{unknown}").status_code == 404
    client.get("/no-such-page/")

    after = scrape(client)

    health = {"method": "GET", "route": "health", "status": "200"}
    assert value(after, "inbox_http_requests_total", **health) - value(before, "inbox_http_requests_total",
                                                                       **health) == 2
    assert value(after, "inbox_http_request_duration_seconds_count", **health) - value(
        before, "inbox_http_request_duration_seconds_count", **health) == 2
    assert value(after, "inbox_http_request_duration_seconds_sum", **health) > value(
        before, "inbox_http_request_duration_seconds_sum", **health)
    routes = {dict(labels)["route"] for name, labels in after if name == "inbox_http_requests_total"}
    assert "unmatched" in routes and any("conversation" in route for route in routes)
    assert not any(str(unknown) in route or "/" in route for route in routes)  # names, never paths


def test_an_outbound_webhook_delivery_is_counted_by_outcome(client: Client, metrics_on: None) -> None:
    before = scrape(client)

    count_webhook_delivery("delivered", 0.12)
    count_webhook_delivery("retry")

    after = scrape(client)
    for outcome in ("delivered", "retry"):
        assert value(after, "inbox_webhook_deliveries_total", outcome=outcome) - value(
            before, "inbox_webhook_deliveries_total", outcome=outcome) == 1
    assert value(after, "inbox_webhook_delivery_duration_seconds_count") - value(
        before, "inbox_webhook_delivery_duration_seconds_count") == 1


def test_queues_are_left_out_when_tasks_run_eagerly(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True

    assert "inbox_queue_depth" not in metrics_exposition().decode()


def test_queue_depth_is_read_from_the_broker_at_scrape_time(client: Client, metrics_on: None, settings: Any) -> None:
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    with app.connection_for_write() as connection:
        queue = Queue("webhooks", channel=connection.default_channel)
        queue.declare()
        queue.purge()
        before = scrape(client)
        producer = connection.Producer()
        for _ in range(3):
            producer.publish({"waiting": True}, routing_key="webhooks")
        try:
            after = scrape(client)
        finally:
            queue.purge()

    assert value(before, "inbox_queue_depth", queue="webhooks") == 0
    assert value(after, "inbox_queue_depth", queue="webhooks") == 3
    assert ("inbox_queue_depth", frozenset({("queue", "celery")})) in after
    assert value(after, "inbox_broker_up") == 1


def test_a_broker_away_is_reported_not_raised(client: Client, metrics_on: None, settings: Any,
                                              monkeypatch: Any) -> None:
    from config import metrics

    def broker_away() -> dict[str, int]:
        raise ConnectionError("broker unreachable")

    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(metrics, "queue_depths", broker_away)

    samples = scrape(client)

    assert value(samples, "inbox_broker_up") == 0
    assert not any(name == "inbox_queue_depth" for name, _ in samples)


def _connections(endpoint: str) -> float:
    return value(parse(metrics_exposition().decode()), "inbox_websocket_connections", endpoint=endpoint)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_open_websockets_are_a_gauge_that_goes_back_down(acme: Any, member: Any) -> None:
    from config.asgi import application
    from tests.conversations.test_consumers import _session_cookie

    membership = await database_sync_to_async(member)(acme, Role.AGENT)
    cookie = await database_sync_to_async(_session_cookie)(membership.user)
    before = _connections("inbox")
    communicator = WebsocketCommunicator(application, "/ws/inbox",
                                         headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)])
    try:
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from(timeout=3))["type"] == "ready"
        during = _connections("inbox")
    finally:
        await communicator.disconnect()

    assert during - before == 1
    assert _connections("inbox") == before


_COUNT_IN_A_PROCESS = """
import django
django.setup()
from config.metrics import outbound_send_count, websocket_opened
for _ in range({sends}):
    outbound_send_count(kind="api", outcome="sent", seconds=0.01)
websocket_opened("inbox")
"""

_SCRAPE = """
import django
django.setup()
import sys
from config.metrics import metrics_exposition
sys.stdout.write(metrics_exposition().decode())
"""


def test_several_processes_add_up_through_the_multiprocess_directory(tmp_path: Any) -> None:
    """As uvicorn's workers and Celery's worker processes do: each counts in its own process,
    and a scrape of one adds up every process's counts (PROMETHEUS_MULTIPROC_DIR)."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
                   "DJANGO_SETTINGS_MODULE": "config.settings.test"}

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], env=environment, check=True, capture_output=True,
                              text=True, timeout=60).stdout

    run(_COUNT_IN_A_PROCESS.format(sends=2))
    run(_COUNT_IN_A_PROCESS.format(sends=3))
    samples = parse(run(_SCRAPE))

    assert value(samples, "inbox_outbound_sends_total", kind="api", outcome="sent") == 5
    assert value(samples, "inbox_outbound_send_duration_seconds_count", kind="api") == 5
    # A socket counts while its process lives (livesum): both processes have exited.
    assert value(samples, "inbox_websocket_connections", endpoint="inbox") == 0
