"""A provider's webhook, verified and stored before anything else happens to it: the durable
copy that processing reads (integrations.inbound.process), so that nothing a provider
delivered is lost once it was answered 200."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from channels_app.models import Channel
from config.sql import insert
from integrations.base import WebhookRejected
from integrations.models import WebhookEvent
from integrations.registry import adapter_for


def webhook_verify(*, channel: Channel, body: bytes, headers: Mapping[str, str]) -> str:
    """Raise WebhookRejected unless the channel's provider provably sent this body; the proof
    that was checked (kept with the stored body)."""
    adapter = adapter_for(channel)
    if adapter is None:
        raise WebhookRejected("this channel kind takes no webhooks")
    return adapter.verify_webhook(body=body, headers=headers)


def webhook_events_store(deliveries: Sequence[tuple[Channel, bytes, str]]) -> list[int]:
    """Store verified webhook bodies, (channel, body, proof) each, with one INSERT, and return
    their ids. Once the caller's transaction commits, the provider may be answered 200: the rows
    are durable, and processing them is queued by the caller (or found by the sweep)."""
    events = insert([
        WebhookEvent(tenant_id=channel.tenant_id, channel=channel, body=_as_text(body),
                     signature=proof.replace("\x00", "")[:200])
        for channel, body, proof in deliveries
    ])
    return [event.pk for event in events]


def _as_text(body: bytes) -> str:
    """The body as PostgreSQL text can hold it: bytes that are not UTF-8, and NUL bytes (no
    valid JSON has one raw), become U+FFFD. One failed INSERT would fail every body stored
    with it."""
    text = body.decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd") if b"\x00" in body else text


def webhook_accept(*, channel: Channel, body: bytes, headers: Mapping[str, str]) -> int:
    """Verify one webhook (raises WebhookRejected) and store it; the stored id."""
    proof = webhook_verify(channel=channel, body=body, headers=headers)
    return webhook_events_store([(channel, body, proof)])[0]
