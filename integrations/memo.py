"""Channels (with their tenant) remembered per process for the hot paths (processing webhooks,
sending replies): reading a channel through the ORM and decrypting its credentials cost more
than a batch of one message. Callers read, in their own statement, when each channel and its
tenant last changed (`updated_at`): a channel is read again as soon as either changed, and at
least every WEBHOOK_CHANNEL_CACHE_SECONDS (changes made with a bare UPDATE, such as a
tenant's status, are seen within that time)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from channels_app.models import Channel

MAX_CHANNELS = 10_000
_memo: dict[int, tuple[float, Any, Channel]] = {}


def channels_as_of(changed: dict[int, Any]) -> dict[int, Channel]:
    """Channels by id, given for each id when it and its tenant last changed."""
    now = time.monotonic()
    found: dict[int, Channel] = {}
    for channel_id, version in changed.items():
        memo = _memo.get(channel_id)
        if memo is not None and memo[0] > now and memo[1] == version:
            found[channel_id] = memo[2]
    missing = set(changed) - set(found)
    if missing:
        if len(_memo) > MAX_CHANNELS:
            _memo.clear()
        expires = now + settings.WEBHOOK_CHANNEL_CACHE_SECONDS
        for channel in Channel.all_objects.select_related("tenant").filter(pk__in=missing):
            _memo[channel.pk] = (expires, changed[channel.pk], channel)
            found[channel.pk] = channel
    return found

