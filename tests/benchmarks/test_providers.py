"""The benchmark's provider layer: the inbound webhooks it posts are ones the real adapters
accept, for every provider `python -m benchmarks.whatsapp --provider` knows (no server, no
worker: the request the load generator would write, read back as the webhook view reads it)."""

from __future__ import annotations

import pytest
from django.http.request import HttpHeaders

from benchmarks.harness import bench_data_delete, http_request
from benchmarks.providers import BENCH_THROUGHPUT, PROVIDERS, provider_create
from integrations.base import WebhookRejected
from integrations.registry import adapter_for

pytestmark = pytest.mark.django_db

CUSTOMER = "5511900000042"
TEXT = "Olá, pedido 42: ainda está disponível em outra cor?"


def _read_back(raw: bytes) -> tuple[str, str, HttpHeaders, bytes]:
    """(method, path, headers, body) of one HTTP/1.1 request, its headers as Django gives them
    to the webhook view."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, path, _version = request_line.split(" ")
    meta = {}
    for line in lines:
        name, _, value = line.partition(":")
        key = name.strip().upper().replace("-", "_")
        meta[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value.strip()
    assert int(meta["CONTENT_LENGTH"]) == len(body)
    return method, path, HttpHeaders(meta), body


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_the_inbound_webhook_it_posts_is_one_the_adapter_accepts(name):
    provider = provider_create(name)
    data = provider.data_create(run_id=f"20261205000000-{name[:4]}")
    provider.simulator_start(port=9)  # nothing listens there: the bodies only name the URL
    try:
        message_id = f"{provider.id_prefix}BENCHTEST{name}00000042"
        body, extra = provider.inbound_text(message_id=message_id, customer=CUSTOMER, name="Cliente 42", text=TEXT)
        method, path, headers, posted = _read_back(http_request(provider.webhook_path, body, extra))
        channel = data.channel
        adapter = adapter_for(channel)
        assert adapter is not None

        assert (method, path) == ("POST", f"/webhooks/{channel.kind}/{channel.webhook_token}")
        assert posted == body
        assert adapter.verify_webhook(body=posted, headers=headers)
        batch = adapter.parse_webhook(posted)
        assert batch.errors == ()
        (updates,) = batch.updates
        assert updates.account in ("", adapter.account)
        (message,) = updates.messages
        assert (message.provider_message_id, message.contact_external_id, message.contact_name, message.type,
                message.content) == (message_id, CUSTOMER, "Cliente 42", "TEXT", TEXT)
        assert not message.from_me
        # The proof is in the headers it adds: without them the body is refused, and a signature
        # proves this body only.
        with pytest.raises(WebhookRejected):
            adapter.verify_webhook(body=posted, headers=_read_back(http_request(provider.webhook_path, body))[2])
        if provider.proof == "Signed":
            with pytest.raises(WebhookRejected):
                adapter.verify_webhook(body=posted.replace(b"42", b"43"), headers=headers)
    finally:
        provider.simulator_stop()
        bench_data_delete(data)


@pytest.mark.parametrize("name", ["evolution", "baileys"])
def test_a_paired_channel_sends_unpaced_and_the_report_says_what_production_does(name):
    provider = provider_create(name)
    data = provider.data_create(run_id=f"20261205000000-{name[:4]}")
    adapter = adapter_for(data.channel)
    assert adapter is not None

    assert adapter.send_pacing_seconds is None
    assert adapter.throughput_per_second == BENCH_THROUGHPUT
    assert "default_send_pacing_seconds" in provider.pacing_note
    low, high = type(adapter).default_send_pacing_seconds or (0, 0)
    assert f"{low:g}-{high:g} s" in provider.pacing_note
    assert provider_create("cloud").pacing_note == ""
