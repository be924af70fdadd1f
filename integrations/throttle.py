"""Keep a channel under its provider's throughput cap instead of discovering it through
rate-limit errors: counters of tenth-of-a-second slots in the shared cache (Redis in
production, so all workers count together). Tenths keep bursts small: a provider's
token bucket never sees a whole second's quota arrive at once."""

from __future__ import annotations

import math
import time

from django.core.cache import cache
from django.utils import timezone

from channels_app.models import Channel
from config.cache import counter_add

SLOT_SECONDS = 0.1


def throughput_acquire(*, key: str, per_second: float) -> float:
    """Take one send slot for `key`. Returns 0 when taken, else the seconds to wait
    before asking again."""
    now = time.time()
    slot_index = math.floor(now / SLOT_SECONDS)
    slot = f"throughput:{key}:{slot_index}"
    capacity = max(1, math.floor(per_second * SLOT_SECONDS))
    used = counter_add(slot, 5)  # the slot's counter lives 5 s
    if used <= capacity:
        return 0.0
    return (slot_index + 1) * SLOT_SECONDS - now + 0.001


def daily_sends_key(channel_pk: int) -> str:
    """The counter of a channel's sends today (its tenant's daily cap: integrations.outbound.send)."""
    return f"daily-sends:channel:{channel_pk}:{timezone.now().date().isoformat()}"


def daily_sends_used(channel: Channel, cap: int | None) -> tuple[int, int] | None:
    """(sent today, the daily cap) of a channel whose tenant capped its sends; None without a cap."""
    if not cap:
        return None
    return int(cache.get(daily_sends_key(channel.pk)) or 0), cap
