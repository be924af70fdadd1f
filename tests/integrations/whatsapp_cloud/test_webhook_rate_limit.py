"""A generous limit per channel on provider webhooks: beyond WEBHOOK_RATE_LIMIT deliveries a
minute to one channel's URL the answer is 429 with Retry-After (the provider keeps the delivery
and sends it again later: nothing is lost), counted where /api/health shows it; below it, every
correctly signed delivery is stored. Through the Django view (WSGI, the test client) and
through the ASGI layer that answers webhooks in production."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from integrations.inbound.ingress import WebhookIngress
from integrations.inbound.ratelimit import WebhookRateLimit
from integrations.models import WebhookEvent
from tests import factories
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET
from tests.integrations.whatsapp_cloud.test_ingress import _django_stand_in, _inbound, _request, _signed


def _rate_limited_in_health() -> int:
    body = Client().get("/api/health").json()
    return body["webhooks"]["rate_limited"]


@pytest.mark.django_db
def test_deliveries_beyond_the_channel_limit_are_429_with_retry_after(whatsapp, post_webhook, settings: Any,
                                                                      django_capture_on_commit_callbacks) -> None:
    settings.WEBHOOK_RATE_LIMIT = 20
    other = factories.ChannelFactory(tenant=whatsapp.tenant, kind="whatsapp_cloud", name="Outro número",
                                     config=whatsapp.config, credentials=whatsapp.credentials)
    before = _rate_limited_in_health()

    with django_capture_on_commit_callbacks(execute=True):
        accepted = [post_webhook(whatsapp, _inbound(index)).status_code for index in range(20)]
    refused = post_webhook(whatsapp, _inbound(20))
    unsigned = post_webhook(whatsapp, _inbound(21), signature="sha256=" + "0" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        other_channel = post_webhook(other, _inbound(22))

    assert accepted == [200] * 20  # every signed delivery below the limit is stored
    assert refused.status_code == 429 and unsigned.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other_channel.status_code == 200  # the limit is per channel
    assert WebhookEvent.all_objects.filter(channel=whatsapp).count() == 20
    assert _rate_limited_in_health() == before + 2


@pytest.mark.django_db
def test_the_default_limit_is_generous(whatsapp, post_webhook, settings: Any) -> None:
    # Above what a busy number legitimately brings: 1,000 sends a second (Meta's top tier), each with
    # its sent, delivered and read statuses, and the inbound besides.
    assert settings.WEBHOOK_RATE_LIMIT >= 4000 * 60


@pytest.mark.django_db(transaction=True)
def test_the_asgi_layer_answers_429_before_the_ingress(whatsapp, settings: Any) -> None:
    settings.WEBHOOK_RATE_LIMIT = 3
    ingress = WebhookIngress(_django_stand_in)
    app = WebhookRateLimit(ingress)
    path = f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"
    try:
        answers = [async_to_sync(_request)(app, path, _inbound(index), headers=_signed(_inbound(index), APP_SECRET))
                   for index in range(4)]
        handshake = async_to_sync(_request)(app, path, method="GET")
    finally:
        ingress.database.submit(lambda: None).result(timeout=30)
        ingress.close()

    assert [status for status, _, _ in answers] == [200, 200, 200, 429]
    status, headers, body = answers[-1]
    assert json.loads(body)["error"]["code"] == "rate_limited"
    assert 1 <= int(headers[b"retry-after"]) <= 60
    assert handshake[0] == 299  # a provider's handshake is not counted, and goes on to Django
    assert WebhookEvent.all_objects.filter(channel=whatsapp).count() == 3
    assert _rate_limited_in_health() >= 1


def test_the_product_application_puts_the_limit_in_front_of_the_ingress() -> None:
    from config.asgi import application

    http = application.application_mapping["http"]
    assert isinstance(http, WebhookRateLimit) and isinstance(http.app, WebhookIngress)


@pytest.mark.django_db
def test_processes_share_their_counts_in_batches() -> None:
    """Each process counts in memory and adds its counts to the shared ones when due: another
    process's deliveries count against the channel from its next flush on."""
    from integrations.inbound.ratelimit import WebhookCounts

    one, other = WebhookCounts(), WebhookCounts()
    for _ in range(4):
        state, due = one.count("whatsapp_cloud:shared", limit=5)
        assert state is None
        if due:
            one.flush()
    one.flush()

    first, due = other.count("whatsapp_cloud:shared", limit=5)  # its 1 + the other's 4, once read
    assert first is None and due
    other.flush()
    refused, _ = other.count("whatsapp_cloud:shared", limit=5)

    assert refused is not None and refused.exceeded and refused.limit == 5


@pytest.mark.django_db
def test_a_shared_counter_that_cannot_be_reached_never_refuses_a_delivery(monkeypatch) -> None:
    from integrations.inbound import ratelimit

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(ratelimit, "counters_add", down)
    counts = ratelimit.WebhookCounts()
    answers = []
    for _ in range(3):
        state, due = counts.count("whatsapp_cloud:down", limit=3)
        answers.append(state)
        if due:
            counts.flush()

    assert answers == [None, None, None]  # counted in the process alone, and still exactly
    assert counts.count("whatsapp_cloud:down", limit=3)[0] is not None
