"""Counters and marks on the shared cache for the hot paths (send slots, queued-task marks).

Django's Redis backend builds a client object for every call, which costs more than the
command itself on these paths: with Redis, the commands go through one client per process
(and per cache configuration); with any other backend (the embedded default's local
memory), through the cache API."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache

_clients: dict[str, Any] = {}


def _redis() -> tuple[RedisCache, Any] | None:
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return None
    # Django keeps a cache object per thread: one client per configuration is enough (the
    # client is thread-safe, and its pool reconnects after a fork).
    config = repr((backend._cache._servers, sorted(backend._cache._pool_options.items())))
    client = _clients.get(config)
    if client is None:
        client = _clients[config] = backend._cache.get_client(None, write=True)
    return backend, client


def mark_add(key: str, seconds: int) -> bool:
    """Set `key` for `seconds` unless it is set already; whether it was set now."""
    found = _redis()
    if found is None:
        return caches[DEFAULT_CACHE_ALIAS].add(key, 1, timeout=seconds)
    backend, client = found
    return bool(client.set(backend.make_and_validate_key(key), 1, ex=seconds, nx=True))


def mark_set(key: str, seconds: int) -> None:
    """Set `key` for `seconds`, whether it was set or not."""
    found = _redis()
    if found is None:
        caches[DEFAULT_CACHE_ALIAS].set(key, 1, timeout=seconds)
        return
    backend, client = found
    client.set(backend.make_and_validate_key(key), 1, ex=seconds)


def mark_delete(key: str) -> None:
    found = _redis()
    if found is None:
        caches[DEFAULT_CACHE_ALIAS].delete(key)
        return
    backend, client = found
    client.delete(backend.make_and_validate_key(key))


def counter_add(key: str, seconds: int) -> int:
    """Add one to the counter `key` (created with a lifetime of `seconds`) and return it."""
    found = _redis()
    if found is None:
        backend = caches[DEFAULT_CACHE_ALIAS]
        backend.add(key, 0, timeout=seconds)
        try:
            return backend.incr(key)
        except ValueError:
            backend.set(key, 1, timeout=seconds)
            return 1
    backend, client = found
    key = backend.make_and_validate_key(key)
    pipeline = client.pipeline(transaction=False)  # both commands in one round trip
    pipeline.set(key, 0, ex=seconds, nx=True)
    pipeline.incr(key)
    return int(pipeline.execute()[1])


def mark_is_set(key: str) -> bool:
    """Whether `key` is set (one EXISTS on Redis)."""
    found = _redis()
    if found is None:
        return caches[DEFAULT_CACHE_ALIAS].has_key(key)
    backend, client = found
    return bool(client.exists(backend.make_and_validate_key(key)))


def counters_add(increments: dict[str, int], seconds: int) -> dict[str, int]:
    """Add to several counters at once (each created with a lifetime of `seconds`) and return
    their new values: one round trip to Redis for all of them."""
    found = _redis()
    if found is None:
        backend = caches[DEFAULT_CACHE_ALIAS]
        totals = {}
        for key, amount in increments.items():
            backend.add(key, 0, timeout=seconds)
            try:
                totals[key] = backend.incr(key, amount)
            except ValueError:
                backend.set(key, amount, timeout=seconds)
                totals[key] = amount
        return totals
    backend, client = found
    pipeline = client.pipeline(transaction=False)
    keys = list(increments)
    for key in keys:
        stored = backend.make_and_validate_key(key)
        pipeline.incrby(stored, increments[key])
        pipeline.expire(stored, seconds)
    results = pipeline.execute()
    return {key: int(results[2 * index]) for index, key in enumerate(keys)}


_PACE = """
local now = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, free)
redis.call('SET', KEYS[1], tostring(at + tonumber(ARGV[2])), 'PX', ARGV[3])
return tostring(at)
"""
_pace_lock = threading.Lock()


def pace_take(key: str, gap: float) -> float:
    """Book the next turn of `key`, `gap` seconds after the turn before it (shared by every
    process): the seconds to wait for it (0 when it is now)."""
    now = time.time()
    found = _redis()
    if found is None:
        backend = caches[DEFAULT_CACHE_ALIAS]
        with _pace_lock:
            at = max(now, float(backend.get(key, 0.0)))
            backend.set(key, at + gap, timeout=int(gap) + 600)
        return at - now
    backend, client = found
    at = float(client.eval(_PACE, 1, backend.make_and_validate_key(key), repr(now), repr(gap),
                           int((gap + 600) * 1000)))
    wait = at - now
    return wait if wait > 0.001 else 0.0  # (Lua writes numbers with 14 digits: microseconds get lost)
