"""A generous limit per channel on provider webhooks: at most WEBHOOK_RATE_LIMIT deliveries a
minute to one channel's webhook URL (config.api.throttling's counters: one round trip to Redis
a delivery). Beyond it the answer is 429 with Retry-After, which every provider takes as
"send it again later": the delivery stays with the provider and nothing is lost. Below it a
delivery is never refused here; nor when the count cannot be read (Redis down): the limit
then lets everything through rather than refuse a delivery for a failure of its own.

Refusals are counted where GET /api/health shows them (`webhooks.rate_limited`).

Counted by URL, before anything is read or verified: that is all a refusal may cost. In front
of the ASGI ingress (WebhookRateLimit, config.asgi) when it answers webhooks, else in the Django
view (integrations.inbound.views)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse

from config.api.throttling import RateLimitState, rate_limit_count
from integrations.inbound.ingress import WEBHOOK_PATH

logger = logging.getLogger(__name__)

REFUSED_KEY = "webhooks:rate-limited"
MESSAGE = "Too many deliveries to this channel; send it again later."


def webhook_rate_limit(*, kind: str, token: str) -> RateLimitState | None:
    """Count one delivery to the webhook URL of this kind and token; the window's state when
    it is over the limit (refuse it), None when it may go on."""
    # The token is a secret of the URL: the counter's key holds a digest of it.
    identity = f"{kind}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"
    try:
        state = rate_limit_count(scope="webhook", identity=identity, limit=settings.WEBHOOK_RATE_LIMIT)
        if not state.exceeded:
            return None
        cache.add(REFUSED_KEY, 0, timeout=None)
        cache.incr(REFUSED_KEY)
    except Exception:  # the limit must never cost a delivery
        logger.warning("webhook rate limit not counted; the delivery goes on", exc_info=True)
        return None
    return state


def webhook_rate_limited_count() -> int | None:
    """Deliveries refused so far (since the cache began keeping them); None if unknown."""
    try:
        return int(cache.get(REFUSED_KEY, 0))
    except Exception:
        return None


def _body(state: RateLimitState) -> dict[str, Any]:
    return {"error": {"code": "rate_limited", "message": MESSAGE,
                      "details": {"limit": state.limit, "retry_after": state.retry_after()}}}


def webhook_rate_limited_response(state: RateLimitState) -> JsonResponse:
    return JsonResponse(_body(state), status=429, headers={"Retry-After": str(state.retry_after())})


class WebhookRateLimit:
    """ASGI middleware in front of the webhook ingress (integrations.inbound.ingress)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = WEBHOOK_PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST" or not settings.WEBHOOK_INGRESS:
            await self.app(scope, receive, send)
            return
        # In a thread: a slow Redis must not stall the event loop that answers the others.
        state = await asyncio.get_running_loop().run_in_executor(
            None, lambda: webhook_rate_limit(kind=match["kind"], token=match["token"]))
        if state is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(_body(state)).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(state.retry_after()).encode())]})
        await send({"type": "http.response.body", "body": body})
