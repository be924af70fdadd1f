"""Requests per minute, per user of a tenant or per API key (anonymous requests: per client address),
counted in the cache (Redis in production, so every web process shares the count). Fixed
one-minute windows, one counter per client and window: counting is one round trip to Redis
(SET NX EX + INCR, config.cache.counter_add), whatever the number of clients. The numbers go
out on every API response as X-RateLimit-Limit / -Remaining / -Reset.

The same counters limit the password forms (accounts.ratelimit) and provider webhooks per
channel (integrations.inbound.ratelimit)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from config.cache import counter_add
from config.client_ip import client_ip

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int
    exceeded: bool = False

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }

    def retry_after(self) -> int:
        """Whole seconds until the window ends (Retry-After)."""
        return max(1, math.ceil(self.reset - time.time()))


def rate_limit_count(*, scope: str, identity: str, limit: int) -> RateLimitState:
    """Count one request of `identity` in `scope`'s current window and say where it stands."""
    window_start = int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS
    count = counter_add(f"ratelimit:{scope}:{identity}:{window_start}", WINDOW_SECONDS + 5)
    return RateLimitState(limit=limit, remaining=max(0, limit - count), reset=window_start + WINDOW_SECONDS,
                          exceeded=count > limit)


def _limit_for(scope: str) -> int:
    return {
        "messages": settings.API_RATE_LIMIT_MESSAGES,
        "auth": settings.API_RATE_LIMIT_AUTH,
        "anonymous": settings.API_RATE_LIMIT_ANONYMOUS,
    }.get(scope, settings.API_RATE_LIMIT_DEFAULT)


def _member(request: Any) -> str | None:
    access = getattr(request, "auth", None)
    tenant_id = getattr(access, "tenant_id", None)
    api_key = getattr(access, "api_key", None)
    if tenant_id is not None and api_key is not None:
        return f"k{api_key.pk}.t{tenant_id}"  # each key its own count, apart from its maker's
    user = getattr(request, "user", None)
    if tenant_id is not None and user is not None and user.is_authenticated:
        return f"u{user.pk}.t{tenant_id}"
    return None


def rate_limit_consume(request: Any, scope: str, *, anonymous: bool = False) -> RateLimitState:
    """Count this API request in its window and return where the caller stands. A member counts
    in the view's scope; anyone else by client address, in the auth endpoints' scope there and
    in the anonymous one everywhere else."""
    identity = None if anonymous else _member(request)
    if identity is None:
        identity = f"ip{client_ip(request)}"
        scope = "auth" if scope == "auth" else "anonymous"
    state = rate_limit_count(scope=scope, identity=identity, limit=_limit_for(scope))
    request._request.rate_limit_state = state
    request._request.rate_limit_exceeded = state.exceeded
    return state


class RateLimit(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        state = rate_limit_consume(request, getattr(view, "rate_limit_scope", "default"))
        self._wait = float(state.retry_after())
        return not state.exceeded

    def wait(self) -> float:
        return self._wait
