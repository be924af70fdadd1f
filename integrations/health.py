"""GET /api/health: is every part this installation needs answering?

Reports the database, and where configured Redis, the channel layer and the Celery broker,
plus the state of each module. 200 when every required part is up, 503 otherwise."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from integrations.inbound.ratelimit import webhook_rate_limited_count
from integrations.registry import adapter_classes


def _timed(check: Callable[[], str | None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"status": "ok"}
        if detail:
            result["detail"] = detail
    except Exception as exc:  # a health check reports failures, it does not raise them
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def redis_check() -> str:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ping"


def channel_layer_check() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = f"health.{uuid.uuid4().hex}"

    async def roundtrip() -> None:
        await layer.send(channel, {"type": "health.ping"})
        await layer.receive(channel)

    async_to_sync(roundtrip)()
    return type(layer).__name__


def celery_broker_check() -> str:
    from config.celery_app import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
    return conn.transport_cls if isinstance(conn.transport_cls, str) else "connected"


def health_report() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {"database": _timed(database_check)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(redis_check)
    checks["channel_layer"] = _timed(channel_layer_check)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["celery_broker"] = {"status": "ok", "detail": "tasks run eagerly in the web process"}
    else:
        checks["celery_broker"] = _timed(celery_broker_check)
    healthy = all(check["status"] == "ok" for check in checks.values())
    modules = {
        "api": "ok",
        "realtime": "ok" if checks["channel_layer"]["status"] == "ok" else "down",
        "workers": "eager" if settings.CELERY_TASK_ALWAYS_EAGER else checks["celery_broker"]["status"],
        "channels": {kind: "available" for kind in _channel_kinds()},
    }
    # Deliveries answered 429 by the per-channel limit (the providers send them again later).
    webhooks = {"rate_limited": webhook_rate_limited_count(), "rate_limit_per_minute": settings.WEBHOOK_RATE_LIMIT}
    return healthy, {"status": "ok" if healthy else "down", "checks": checks, "modules": modules,
                     "webhooks": webhooks}


def _channel_kinds() -> list[str]:
    """The kinds this installation's providers serve (the integrations registry)."""
    return list(adapter_classes())


class HealthView(APIView):
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type[BaseThrottle]] = []  # load balancers poll this; it must never be rate limited

    @extend_schema(
        summary="Health of the installation",
        responses={
            200: OpenApiResponse(
                inline_serializer("Health", {"status": serializers.CharField(), "checks": serializers.DictField(),
                                             "modules": serializers.DictField(),
                                             "webhooks": serializers.DictField()}),
                description="Every required part answers.",
            ),
            503: OpenApiResponse(description="A required part is down; the body says which."),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        healthy, report = health_report()
        return Response(report, status=200 if healthy else 503)
