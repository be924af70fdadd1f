from __future__ import annotations

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
