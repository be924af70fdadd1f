"""Channels (with their tenant) remembered per process, for the hot paths: answering a
webhook, processing stored webhooks, sending replies, hearing of a reply. Reading a channel
through the ORM and decrypting its credentials cost more than a batch of one message.

One cache, one rule: a channel is read again as soon as it or its tenant changed (callers that
read rows anyway read `updated_at` of both in the same statement), and at least every
WEBHOOK_CHANNEL_CACHE_SECONDS (changes made with a bare UPDATE, such as a tenant's status,
are seen within that time). A webhook URL's channel is remembered for that long; a URL that
names no channel is not remembered (it may name one a moment later)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from channels_app.models import Channel
from config.sql import fetch_all
from tenants.models import Tenant

MAX_ENTRIES = 10_000
# By id: (expires, version, channel); version = (channel.updated_at, tenant.updated_at).
_by_id: dict[int, tuple[float, Any, Channel]] = {}
# By webhook URL: (expires, channel id).
_by_url: dict[tuple[str, str], tuple[float, int]] = {}


def _remember(channel: Channel, expires: float) -> Channel:
    if len(_by_id) >= MAX_ENTRIES:
        _by_id.clear()
    _by_id[channel.pk] = (expires, (channel.updated_at, channel.tenant.updated_at), channel)
    return channel


def _expiry() -> float:
    seconds: float = settings.WEBHOOK_CHANNEL_CACHE_SECONDS  # env.float in config/settings/base.py
    return time.monotonic() + seconds


def channels_as_of(versions: dict[int, Any]) -> dict[int, Channel]:
    """Channels by id, given for each id when it and its tenant last changed (as the caller
    read them: `(channel.updated_at, tenant.updated_at)`)."""
    now = time.monotonic()
    found: dict[int, Channel] = {}
    for channel_id, version in versions.items():
        entry = _by_id.get(channel_id)
        if entry is not None and entry[0] > now and entry[1] == version:
            found[channel_id] = entry[2]
    missing = set(versions) - set(found)
    if missing:
        expires = _expiry()
        for channel in Channel.all_objects.select_related("tenant").filter(pk__in=missing):
            found[channel.pk] = _remember(channel, expires)
    return found


def channel_current(channel_id: int) -> Channel | None:
    """The channel as it is now: one small read of when it and its tenant changed, and the
    channel itself only when that differs from what is remembered."""
    version = fetch_all(
        f"SELECT c.updated_at, t.updated_at FROM {Channel._meta.db_table} c "
        f"JOIN {Tenant._meta.db_table} t ON t.id = c.tenant_id WHERE c.id = %s", [channel_id])
    return channels_as_of({channel_id: version[0]}).get(channel_id) if version else None


def channel_kind(channel_id: int) -> str | None:
    """A channel's kind: from memory while the channel is remembered (a channel moved to
    another provider of its network changes kind: seen within WEBHOOK_CHANNEL_CACHE_SECONDS)."""
    entry = _by_id.get(channel_id)
    if entry is not None and entry[0] > time.monotonic():
        return entry[2].kind
    channel = Channel.all_objects.select_related("tenant").filter(pk=channel_id).first()
    return _remember(channel, _expiry()).kind if channel is not None else None


def webhook_channel_remembered(kind: str, token: str) -> tuple[bool, Channel | None]:
    """(whether the URL is remembered, its live channel): answered without the database."""
    entry = _by_url.get((kind, token))
    if entry is None or entry[0] <= time.monotonic():
        return False, None
    remembered = _by_id.get(entry[1])
    return (True, remembered[2]) if remembered is not None else (False, None)


def webhook_channel(*, kind: str, token: str) -> Channel | None:
    """The live channel a webhook URL names (webhooks carry no tenant: the token is it), read
    from the database and remembered."""
    channel = (Channel.all_objects.select_related("tenant")
               .filter(kind=kind, webhook_token=token, archived_at__isnull=True).first())
    if channel is None:
        # Not remembered: a provider paired by QR code posts its first events while the new
        # channel is being saved (and does not send again what was answered 404), so a URL
        # that names nothing yet may name a channel a moment later.
        _by_url.pop((kind, token), None)
        return None
    expires = _expiry()
    if len(_by_url) >= MAX_ENTRIES:
        _by_url.clear()
    _by_url[(kind, token)] = (expires, channel.pk)
    return _remember(channel, expires)


def forget() -> None:
    """Drop everything remembered (tests: ids come back after a rolled-back test)."""
    _by_id.clear()
    _by_url.clear()
