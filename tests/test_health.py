from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from integrations import health

pytestmark = pytest.mark.django_db


def _get_health(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/api/health")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_health_answers_ok_when_every_configured_part_is_up(client: Client, settings: Any) -> None:
    status, body = _get_health(client)

    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["detail"] == connection.vendor
    assert body["checks"]["channel_layer"]["status"] == "ok"
    assert body["checks"]["celery_broker"]["status"] == "ok"
    assert ("redis" in body["checks"]) == bool(settings.REDIS_URL)
    if settings.REDIS_URL:
        assert body["checks"]["redis"]["status"] == "ok"
        assert body["checks"]["channel_layer"]["detail"] == "RedisChannelLayer"
    assert body["modules"]["api"] == "ok"
    assert body["modules"]["realtime"] == "ok"


def test_health_checks_the_broker_when_tasks_do_not_run_eagerly(client: Client, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False

    status, body = _get_health(client)

    assert status == 200
    assert body["checks"]["celery_broker"]["status"] == "ok"
    assert body["modules"]["workers"] == "ok"


def test_health_is_503_naming_the_database_when_it_is_down(client: Client, monkeypatch: Any) -> None:
    def database_down() -> str:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(health, "database_check", database_down)

    status, body = _get_health(client)

    assert status == 503
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert "connection refused" in body["checks"]["database"]["error"]
    assert body["checks"]["channel_layer"]["status"] == "ok"


def test_health_is_503_naming_redis_when_it_does_not_answer(client: Client, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    status, body = _get_health(client)

    assert status == 503
    assert body["status"] == "down"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_health_is_503_when_the_celery_broker_is_down(client: Client, settings: Any, monkeypatch: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def broker_down() -> str:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(health, "celery_broker_check", broker_down)

    status, body = _get_health(client)

    assert status == 503
    assert body["checks"]["celery_broker"]["status"] == "down"
    assert body["modules"]["workers"] == "down"


def test_health_is_never_rate_limited(client: Client, settings: Any) -> None:
    settings.API_RATE_LIMIT_DEFAULT = 1

    statuses = {client.get("/api/health").status_code for _ in range(3)}

    assert statuses == {200}


def test_health_counts_webhook_deliveries_refused_by_the_channel_limit(client: Client, settings: Any) -> None:
    from integrations.inbound.ratelimit import webhook_rate_limit

    settings.WEBHOOK_RATE_LIMIT = 1
    before = _get_health(client)[1]["webhooks"]
    for _ in range(3):
        webhook_rate_limit(kind="whatsapp_cloud", token="a-channel-token")

    status, body = _get_health(client)

    assert before == {"rate_limited": 0, "rate_limit_per_minute": 1}
    assert status == 200  # refusals are by design: the providers send those deliveries again
    assert body["webhooks"] == {"rate_limited": 2, "rate_limit_per_minute": 1}


def test_health_has_the_components_shape(client: Client, settings: Any) -> None:
    from integrations.registry import adapter_classes
    from tests import factories

    tenant = factories.TenantFactory()
    kind = next(iter(adapter_classes()))
    factories.ChannelFactory(tenant=tenant, kind=kind)

    status, body = _get_health(client)

    assert status == 200 and body["status"] == "ok"
    assert body["timestamp"].endswith("Z")
    components = body["components"]
    assert set(components) == {"database", "redis", "channel_layer", "celery", "beat", "providers"}
    assert components["database"]["status"] == "ok" and components["database"]["vendor"] == connection.vendor
    assert components["redis"]["status"] == ("ok" if settings.REDIS_URL else "not_configured")
    # The tests' shape is the embedded default's: eager tasks, and no scheduler running here.
    assert components["celery"] | {"broker": None} == {"status": "ok", "mode": "eager", "workers": 0,
                                                         "broker": None, "scheduler": "off"}
    assert components["beat"]["status"] == "off" and components["beat"]["mode"] == "embedded"
    assert set(components["providers"]) == set(adapter_classes())
    assert components["providers"][kind]["status"] == "available"
    assert sum(components["providers"][kind]["channels"].values()) == 1


def test_the_embedded_scheduler_beats_as_celery_beat_would(client: Client, embedded_scheduler: Any) -> None:
    from config.tasks import beat_heartbeat

    embedded_scheduler.start()
    beat_heartbeat.apply()

    beat = _get_health(client)[1]["components"]["beat"]

    assert beat["status"] == "ok" and beat["last_heartbeat"].endswith("Z") and beat["age_seconds"] < 60
    assert _get_health(client)[1]["components"]["celery"]["scheduler"] == "running"


def _with_workers(monkeypatch: Any, names: list[str]) -> list[float]:
    from config.celery_app import app

    pings: list[float] = []

    def ping(timeout: float) -> list[dict[str, Any]]:
        pings.append(timeout)
        return [{name: {"ok": "pong"}} for name in names]

    monkeypatch.setattr(app.control, "ping", ping)
    return pings


def test_health_counts_the_workers_answering_a_ping_and_asks_them_seldom(client: Client, settings: Any,
                                                                      monkeypatch: Any) -> None:
    from config.tasks import beat_heartbeat

    settings.CELERY_TASK_ALWAYS_EAGER = False
    pings = _with_workers(monkeypatch, ["celery@web-1", "celery@web-2"])
    beat_heartbeat.apply()

    status, body = _get_health(client)
    _get_health(client)

    assert status == 200 and body["status"] == "ok"
    celery = body["components"]["celery"]
    assert celery["status"] == "ok" and celery["workers"] == 2 and celery["mode"] == "broker"
    assert body["components"]["beat"]["status"] == "ok" and body["components"]["beat"]["mode"] == "beat"
    assert len(pings) == 1 and pings[0] <= 1.0  # a short timeout, and the answer is kept a few seconds


def test_health_is_degraded_not_down_without_workers_or_with_a_late_beat(client: Client, settings: Any,
                                                                        monkeypatch: Any) -> None:
    from django.core.cache import cache

    from config.heartbeat import HEARTBEAT_KEY

    settings.CELERY_TASK_ALWAYS_EAGER = False
    _with_workers(monkeypatch, [])
    cache.set(HEARTBEAT_KEY, time.time() - 4 * 60)

    status, body = _get_health(client)

    assert status == 200  # the web answers: a load balancer keeps sending it requests
    assert body["status"] == "degraded"
    assert body["components"]["celery"]["status"] == "degraded" and body["components"]["celery"]["workers"] == 0
    assert body["components"]["beat"]["status"] == "late" and body["components"]["beat"]["age_seconds"] >= 240


def test_health_says_beat_is_late_when_it_never_beat(client: Client, settings: Any, monkeypatch: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _with_workers(monkeypatch, ["celery@one"])

    body = _get_health(client)[1]

    assert body["status"] == "degraded"
    assert body["components"]["beat"] | {"late_after_seconds": 0} == {
        "status": "late", "last_heartbeat": None, "age_seconds": None, "mode": "beat", "late_after_seconds": 0}


def test_health_shape_says_down_with_503_when_the_database_is_down(client: Client, monkeypatch: Any) -> None:
    def database_down() -> str:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(health, "database_check", database_down)

    status, body = _get_health(client)

    assert status == 503 and body["status"] == "down"
    assert body["components"]["database"]["status"] == "down"
    assert "connection refused" in body["components"]["database"]["error"]
    assert body["timestamp"].endswith("Z")


def test_health_shape_says_down_with_503_when_redis_is_down(client: Client, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    status, body = _get_health(client)

    assert status == 503 and body["status"] == "down"
    assert body["components"]["redis"]["status"] == "down" and body["components"]["redis"]["error"]
