"""A generous limit per channel on provider webhooks: at most WEBHOOK_RATE_LIMIT deliveries a
minute to one channel's webhook URL. Beyond it the answer is 429 with Retry-After, which every
provider takes as "send it again later": the delivery stays with the provider and nothing is
lost. Below it a delivery is never refused here; nor when the count cannot be shared (Redis
down): the limit then counts in the process alone rather than refuse a delivery for a failure of
its own.

A delivery costs a dictionary update, not a round trip: each process counts its deliveries per
channel and, every FLUSH_SECONDS while they come, adds them to the shared counters in one Redis
pipeline and reads back what all processes counted (WebhookCounts). A process sees the others'
deliveries up to that late, so a channel may pass the limit by what its other processes took
in that time before it is refused.

Refusals are counted where GET /api/health shows them (`webhooks.rate_limited`).

Counted by URL, before anything is read or verified: that is all a refusal may cost. In front
of the ASGI ingress (WebhookRateLimit, config.asgi) when it answers webhooks, else in the Django
view (integrations.inbound.views)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse

from config.api.throttling import WINDOW_SECONDS, RateLimitState
from config.cache import counters_add
from config.metrics import webhook_refused_count
from integrations.inbound.ingress import WEBHOOK_PATH, kind_label

logger = logging.getLogger(__name__)

REFUSED_KEY = "webhooks:rate-limited"
MESSAGE = "Too many deliveries to this channel; send it again later."
FLUSH_SECONDS = 0.1


class WebhookCounts:
    """This process's deliveries per channel URL in the current window, shared in batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = 0
        self._pending: Counter[str] = Counter()  # counted here, not yet added to the shared counters
        self._shared: dict[str, int] = {}  # every process's count, as last read
        self._refused = 0  # refusals not yet added to health's counter
        self._flushed_at = 0.0
        self._flush_due = False  # a flush was asked for and has not begun

    def count(self, identity: str, *, limit: int) -> tuple[RateLimitState | None, bool]:
        """Count one delivery: the window's state when it is over the limit (refuse it), else
        None; and whether the counts are due to be shared (call flush(), off the event loop)."""
        now = time.time()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        with self._lock:
            if window != self._window:
                self._window, self._shared = window, {}
                self._pending.clear()
            self._pending[identity] += 1
            count = self._shared.get(identity, 0) + self._pending[identity]
            state = None
            if count > limit:
                self._refused += 1
                state = RateLimitState(limit=limit, remaining=0, reset=window + WINDOW_SECONDS, exceeded=True)
            due = state is not None or (not self._flush_due and now - self._flushed_at >= FLUSH_SECONDS)
            self._flush_due = self._flush_due or due
        return state, due

    def flush(self) -> None:
        """Add what this process counted to the shared counters and read back every process's."""
        with self._lock:
            window, pending, refused = self._window, self._pending, self._refused
            self._pending, self._refused, self._flushed_at = Counter(), 0, time.time()
            self._flush_due = False
        if not pending and not refused:
            return
        keys = {f"ratelimit:webhook:{identity}:{window}": identity for identity in pending}
        try:
            totals = counters_add({key: pending[identity] for key, identity in keys.items()},
                                  WINDOW_SECONDS + 5) if pending else {}
            if refused:
                cache.add(REFUSED_KEY, 0, timeout=None)
                cache.incr(REFUSED_KEY, refused)
        except Exception:  # the limit must never cost a delivery: count in this process alone
            logger.warning("webhook counts not shared now; counted in this process", exc_info=True)
            totals = {}
            with self._lock:
                if self._window == window:
                    self._pending.update(pending)
                self._refused += refused
        with self._lock:
            if self._window == window:
                self._shared.update((keys[key], total) for key, total in totals.items())


_counts = WebhookCounts()


def _identity(kind: str, token: str) -> str:
    # The token is a secret of the URL: the counter's key holds a digest of it.
    return f"{kind}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def webhook_rate_limit(*, kind: str, token: str) -> RateLimitState | None:
    """Count one delivery to the webhook URL of this kind and token (sharing the counts when
    due, in this thread); the window's state when it is over the limit (refuse it), None when
    it may go on."""
    state, due = _counts.count(_identity(kind, token), limit=settings.WEBHOOK_RATE_LIMIT)
    if due:
        _counts.flush()
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


def webhook_rate_limited_response(state: RateLimitState, *, kind: str) -> JsonResponse:
    webhook_refused_count(kind=kind, reason="rate_limited")
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
        state, due = _counts.count(_identity(match["kind"], match["token"]), limit=settings.WEBHOOK_RATE_LIMIT)
        if due:  # in a thread: a slow Redis must not stall the event loop that answers the others
            flushing = asyncio.get_running_loop().run_in_executor(None, _counts.flush)
            if state is not None:  # a refusal waits for its count (health shows it at once)
                await flushing
        if state is None:
            await self.app(scope, receive, send)
            return
        webhook_refused_count(kind=kind_label(match["kind"]), reason="rate_limited")
        body = json.dumps(_body(state)).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(state.retry_after()).encode())]})
        await send({"type": "http.response.body", "body": body})
