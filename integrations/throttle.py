"""Keep a channel under its provider's throughput cap instead of discovering it through
rate-limit errors: a per-second counter in the shared cache (Redis in production, so all
workers count together)."""

from __future__ import annotations

import time

from django.core.cache import cache


def throughput_acquire(*, key: str, per_second: float) -> float:
    """Take one send slot of `key`'s current second. Returns 0 when taken, else how many
    seconds to wait before trying again."""
    now = time.time()
    second = int(now)
    slot = f"throughput:{key}:{second}"
    cache.add(slot, 0, timeout=5)
    try:
        used = cache.incr(slot)
    except ValueError:
        cache.set(slot, 1, timeout=5)
        used = 1
    if used <= per_second:
        return 0.0
    return (second + 1) - now + 0.001
