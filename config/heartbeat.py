"""Celery beat's heartbeat: a beat task (config.tasks.beat_heartbeat, every minute) writes the
time to the shared cache, and GET /api/health says beat is late when the last one is older
than BEAT_LATE_SECONDS (nothing else would tell that the scheduled work stopped)."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "health:beat-heartbeat"
BEAT_LATE_SECONDS = 180


def beat_heartbeat_record() -> dt.datetime:
    now = timezone.now()
    cache.set(HEARTBEAT_KEY, now.timestamp(), timeout=7 * 86_400)
    return now


def beat_heartbeat_last() -> dt.datetime | None:
    value = cache.get(HEARTBEAT_KEY)
    return dt.datetime.fromtimestamp(float(value), dt.UTC) if value is not None else None
