"""Requests per minute, per user of a tenant (anonymous requests: per client IP), counted in
the cache (Redis in production, so every web process shares the count). Fixed one-minute
windows; the numbers go out on every response as X-RateLimit-Limit / -Remaining / -Reset."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def _limit_for(scope: str) -> int:
    return {
        "messages": settings.API_RATE_LIMIT_MESSAGES,
        "auth": settings.API_RATE_LIMIT_AUTH,
    }.get(scope, settings.API_RATE_LIMIT_DEFAULT)


def _identity(request: Any) -> str:
    access = getattr(request, "auth", None)
    tenant_id = getattr(access, "tenant_id", None)
    user = getattr(request, "user", None)
    if tenant_id is not None and user is not None and user.is_authenticated:
        return f"u{user.pk}.t{tenant_id}"
    forwarded = request.META.get("REMOTE_ADDR", "")
    return f"ip{forwarded}"


def rate_limit_consume(request: Any, scope: str, *, anonymous: bool = False) -> RateLimitState:
    """Count this request in its window and return where the caller stands."""
    limit = _limit_for(scope)
    now = time.time()
    window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    identity = f"ip{request.META.get('REMOTE_ADDR', '')}" if anonymous else _identity(request)
    key = f"ratelimit:{scope}:{identity}:{window_start}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    state = RateLimitState(limit=limit, remaining=max(0, limit - count), reset=window_start + WINDOW_SECONDS)
    request._request.rate_limit_state = state
    request._request.rate_limit_exceeded = count > limit
    return state


class RateLimit(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        state = rate_limit_consume(request, getattr(view, "rate_limit_scope", "default"))
        self._wait = max(1.0, state.reset - time.time())
        return not request._request.rate_limit_exceeded

    def wait(self) -> float:
        return self._wait
