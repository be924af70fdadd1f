"""GET /api/health: is every part this installation needs answering?

`status` is "ok", "degraded" (200: the web answers, but something behind it is not right: no
Celery worker answers a ping, beat's heartbeat is late) or "down" (503: a part every request
needs is down: the database, Redis where configured, the channel layer, the Celery broker).
`timestamp` is when it was checked; `components` has each part: database, redis, channel_layer,
celery (its broker and how many workers answer a ping, cached for WORKERS_CACHE_SECONDS so that
polling stays cheap), beat (its last heartbeat, config.heartbeat) and each provider with its
channels by status. `checks`, `modules` and `webhooks` are the earlier shape, kept for those
who read it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from channels_app.models import Channel
from config import embedded
from config.heartbeat import BEAT_LATE_SECONDS, beat_heartbeat_last
from integrations.inbound.ratelimit import webhook_rate_limited_count
from integrations.registry import adapter_classes

WORKERS_CACHE_KEY = "health:celery-workers"
WORKERS_CACHE_SECONDS = 10
WORKERS_PING_SECONDS = 1.0


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


def celery_workers_ping() -> list[str]:
    """The Celery workers that answer a ping (their names), asked at most every
    WORKERS_CACHE_SECONDS by all web processes together (the answer is shared in the cache)."""
    from config.celery_app import app

    known = cache.get(WORKERS_CACHE_KEY)
    if known is not None:
        return list(known)
    replies = app.control.ping(timeout=WORKERS_PING_SECONDS) or []
    workers = sorted(name for reply in replies for name in reply)
    cache.set(WORKERS_CACHE_KEY, workers, timeout=WORKERS_CACHE_SECONDS)
    return workers


def _celery(broker: dict[str, Any]) -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "mode": "eager", "workers": 0, "broker": broker,
                "scheduler": "running" if embedded.scheduler.running else "off"}
    component: dict[str, Any] = {"status": "down", "mode": "broker", "workers": 0, "broker": broker}
    if broker["status"] != "ok":
        return component
    try:
        names = celery_workers_ping()
    except Exception as exc:
        component["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return component
    component.update(status="ok" if names else "degraded", workers=len(names), names=names)
    return component


def _beat() -> dict[str, Any]:
    try:
        last = beat_heartbeat_last()
    except Exception as exc:  # the cache (Redis) is down: reported as such above
        return {"status": "unknown", "last_heartbeat": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
    age = (timezone.now() - last).total_seconds() if last is not None else None
    beat: dict[str, Any] = {"last_heartbeat": _iso(last), "age_seconds": round(age, 1) if age is not None else None,
                            "late_after_seconds": BEAT_LATE_SECONDS}
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no beat: the embedded scheduler (config.embedded), if it runs here
        beat["mode"] = "embedded"
        if not embedded.scheduler.running:
            return {**beat, "status": "off"}
    else:
        beat["mode"] = "beat"
    beat["status"] = "ok" if age is not None and age <= BEAT_LATE_SECONDS else "late"
    return beat


def _providers() -> dict[str, dict[str, Any]]:
    """Each provider this installation serves, with its live channels by status (one query
    over the channels, a small table)."""
    providers: dict[str, dict[str, Any]] = {kind: {"status": "available", "channels": {}} for kind in _channel_kinds()}
    try:
        rows = (Channel.all_objects.filter(archived_at__isnull=True, kind__in=list(providers))
                .values_list("kind", "status").annotate(count=Count("id")).order_by())
        for kind, status, count in rows:
            providers[kind]["channels"][status] = count
    except Exception:  # the database is down: said under "database"
        pass
    return providers


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment is not None else None


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
    database = {**checks["database"]}
    if database.get("status") == "ok":
        database["vendor"] = database.get("detail")
    components: dict[str, Any] = {
        "database": database,
        "redis": checks.get("redis", {"status": "not_configured"}),
        "channel_layer": checks["channel_layer"],
        "celery": _celery(checks["celery_broker"]),
        "beat": _beat(),
        "providers": _providers(),
    }
    degraded = components["celery"]["status"] != "ok" or components["beat"]["status"] not in ("ok", "off")
    modules = {
        "api": "ok",
        "realtime": "ok" if checks["channel_layer"]["status"] == "ok" else "down",
        "workers": "eager" if settings.CELERY_TASK_ALWAYS_EAGER else checks["celery_broker"]["status"],
        "channels": {kind: "available" for kind in _channel_kinds()},
    }
    # Deliveries answered 429 by the per-channel limit (the providers send them again later).
    webhooks = {"rate_limited": webhook_rate_limited_count(), "rate_limit_per_minute": settings.WEBHOOK_RATE_LIMIT}
    status = "down" if not healthy else "degraded" if degraded else "ok"
    return healthy, {"status": status, "timestamp": _iso(timezone.now()), "components": components,
                     "checks": checks, "modules": modules, "webhooks": webhooks}


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
                inline_serializer("Health", {
                    "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
                    "timestamp": serializers.DateTimeField(),
                    "components": serializers.DictField(help_text=(
                        "database, redis, channel_layer, celery (broker, workers answering a ping), beat "
                        "(last_heartbeat), providers (by kind: channels by status); each with its status.")),
                    "checks": serializers.DictField(), "modules": serializers.DictField(),
                    "webhooks": serializers.DictField()}),
                description="Every required part answers (status ok, or degraded: workers or beat are not).",
            ),
            503: OpenApiResponse(description="A required part is down; the body says which."),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        healthy, report = health_report()
        return Response(report, status=200 if healthy else 503)
