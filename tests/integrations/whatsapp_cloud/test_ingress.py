"""Webhook POSTs answered by the ASGI ingress (integrations.inbound.ingress), as the production
server serves them: signed bodies stored in batches before the 200, everything else as the
Django view answers it."""

from __future__ import annotations

import asyncio
import json
import time
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.db import OperationalError

from channels_app.models import Channel
from conversations.models import Message
from integrations import channel_cache
from integrations.inbound import store as inbound_store
from integrations.inbound.ingress import WebhookIngress
from integrations.models import WebhookEvent
from integrations.whatsapp_cloud.adapter import signature_for
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET, FIXTURES, fixture_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ingress():
    """A factory of ingresses in front of a stand-in for Django; each lets its writer thread's
    database connection go at the end (the test database is dropped at the end of the run)."""
    made: list[WebhookIngress] = []

    def make() -> WebhookIngress:
        made.append(WebhookIngress(_django_stand_in))
        return made[-1]

    yield make
    for app in made:
        app.close()


async def _django_stand_in(scope, receive, send):
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


async def _request(app, path: str, body: bytes = b"", *, method: str = "POST", headers=(), query: bytes = b""):
    communicator = ApplicationCommunicator(app, {
        "type": "http", "http_version": "1.1", "method": method, "path": path, "raw_path": path.encode(),
        "query_string": query, "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
    })
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(10)
    response = await communicator.receive_output(10)
    return start["status"], dict(start["headers"]), response["body"]


def _signed(body: bytes, secret: str = APP_SECRET):
    return [("Content-Type", "application/json"), ("X-Hub-Signature-256", signature_for(body, secret))]


def _post(app, channel, body: bytes, headers=None):
    answer = async_to_sync(_request)(app, f"/webhooks/whatsapp_cloud/{channel.webhook_token}", body,
                                     headers=_signed(body) if headers is None else headers)
    _settle(app)
    return answer


def _settle(app) -> None:
    """Wait for what the ingress does after answering (queueing, here eager processing): the
    writer thread does it, after the store."""
    app.database.submit(lambda: None).result(timeout=30)


def _inbound(index: int) -> bytes:
    payload = json.loads((FIXTURES / "inbound-text.json").read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.INGRESS{index:04d}"
    message["text"]["body"] = f"pedido {index}"
    return json.dumps(payload, separators=(",", ":")).encode()


def test_signed_post_is_stored_processed_and_answered_200(ingress, whatsapp):
    status, headers, body = _post(ingress(), whatsapp, fixture_bytes("inbound-text.json"))

    assert (status, body) == (200, b"ok")
    event = WebhookEvent.all_objects.get(channel=whatsapp)
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 1
    assert Message.all_objects.get(channel=whatsapp).content == "Hi, does it come in another color?"


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "wrong-secret"])
def test_missing_or_wrong_signature_is_401_and_nothing_is_stored(ingress, whatsapp, signature):
    body = fixture_bytes("inbound-text.json")
    headers = _signed(body, "another secret") if signature == "wrong-secret" else [("X-Hub-Signature-256", signature)]

    status, headers, answer = _post(ingress(), whatsapp, body, headers)

    assert status == 401 and json.loads(answer)["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.all_objects.exists() and not Message.all_objects.exists()


def test_unknown_token_is_404_and_oversized_body_is_413(ingress, whatsapp, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    app = ingress()
    unknown = async_to_sync(_request)(app, "/webhooks/whatsapp_cloud/nope", b"{}", headers=_signed(b"{}"))
    big = b"{" + b" " * 2000 + b"}"
    oversized = _post(app, whatsapp, big)

    garbled = async_to_sync(_request)(app, f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}", b"{}",
                                      headers=[*_signed(b"{}"), ("Content-Length", "lots")])

    assert unknown[0] == 404 and json.loads(unknown[2])["error"]["code"] == "not_found"
    assert garbled[0] == 400 and json.loads(garbled[2])["error"]["code"] == "bad_request"
    assert oversized[0] == 413 and json.loads(oversized[2])["error"]["code"] == "payload_too_large"
    assert not WebhookEvent.all_objects.exists()


def test_handshake_and_other_paths_go_to_django(ingress, whatsapp):
    app = ingress()
    path = f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"

    assert async_to_sync(_request)(app, path, method="GET")[0] == 299
    assert async_to_sync(_request)(app, "/api/v1/contacts", b"{}")[0] == 299


def test_handshake_through_the_product_application(whatsapp):
    from config.asgi import application

    handshake = json.loads((FIXTURES / "verify-handshake.json").read_text())["request"]["query"]
    query = "&".join(f"{key}={value}" for key, value in handshake.items()).encode()
    status, _, body = async_to_sync(_request)(
        application, f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}", method="GET", query=query)

    assert (status, body.decode()) == (200, handshake["hub.challenge"])


def test_concurrent_posts_are_stored_together_each_message_once(ingress, whatsapp):
    app = ingress()
    path = f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"
    bodies = [_inbound(index) for index in range(30)] + [_inbound(3), _inbound(7)]  # two repeats
    stored_batches = []
    store = inbound_store.webhook_events_store

    def recording_store(rows, **kwargs):
        stored_batches.append(len(rows))
        return store(rows, **kwargs)

    async def post_all():
        return await asyncio.gather(*(_request(app, path, body, headers=_signed(body)) for body in bodies))

    with mock.patch("integrations.inbound.ingress.webhook_events_store", recording_store):
        answers = async_to_sync(post_all)()
    _settle(app)

    assert [status for status, _, _ in answers] == [200] * 32
    assert sum(stored_batches) == 32 and len(stored_batches) < 32  # bodies that waited went in together
    assert WebhookEvent.all_objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 32
    assert Message.all_objects.filter(channel=whatsapp).count() == 30
    assert sorted(Message.all_objects.values_list("content", flat=True)) == sorted(f"pedido {i}" for i in range(30))


def test_a_store_that_fails_answers_503_so_the_provider_retries(ingress, whatsapp):
    app = ingress()

    with mock.patch("integrations.inbound.ingress.webhook_events_store",
                    side_effect=OperationalError("database is away")):
        status, headers, body = _post(app, whatsapp, fixture_bytes("inbound-text.json"))

    assert status == 503 and headers[b"retry-after"] == b"5"
    assert json.loads(body)["error"]["code"] == "unavailable"
    assert _post(app, whatsapp, fixture_bytes("inbound-text.json"))[0] == 200  # and the retry is stored


def test_channel_lookups_are_remembered_for_a_few_seconds(ingress, whatsapp, settings):
    settings.WEBHOOK_CHANNEL_CACHE_SECONDS = 1
    app = ingress()
    body = fixture_bytes("inbound-text.json")
    lookups = []
    lookup = channel_cache.webhook_channel

    def counting_lookup(**kwargs):
        lookups.append(kwargs)
        return lookup(**kwargs)

    with mock.patch("integrations.inbound.ingress.webhook_channel", counting_lookup):
        assert [_post(app, whatsapp, body)[0] for _ in range(3)] == [200, 200, 200]
        assert len(lookups) == 1
        whatsapp.archived_at = whatsapp.created_at
        whatsapp.save(update_fields=["archived_at"])
        assert _post(app, whatsapp, body)[0] == 200  # still remembered
        time.sleep(1.1)
        assert _post(app, whatsapp, body)[0] == 404  # an archived channel applies within that time


def test_a_url_that_names_no_channel_yet_is_not_remembered(ingress, whatsapp, settings):
    """Providers paired by QR code post their first events while the new channel is being
    saved: a URL answered 404 a moment ago is taken as soon as its channel exists."""
    settings.WEBHOOK_CHANNEL_CACHE_SECONDS = 60
    app = ingress()
    body = fixture_bytes("inbound-text.json")
    token = whatsapp.webhook_token
    Channel.all_objects.filter(pk=whatsapp.pk).update(webhook_token="not-yet")

    before = _post(app, whatsapp, body)[0]
    Channel.all_objects.filter(pk=whatsapp.pk).update(webhook_token=token)

    assert (before, _post(app, whatsapp, body)[0]) == (404, 200)


def test_a_broker_that_is_away_loses_nothing_the_sweep_queues_it_later(ingress, whatsapp):
    from datetime import timedelta

    from integrations.tasks import sweep_stuck_work

    app = ingress()
    with mock.patch("integrations.inbound.tasks.webhook_events_process.delay",
                    side_effect=ConnectionError("broker away")):
        status, _, _ = _post(app, whatsapp, fixture_bytes("inbound-text.json"))

    assert status == 200
    event = WebhookEvent.all_objects.get(channel=whatsapp)
    assert event.status == WebhookEvent.Status.RECEIVED and not Message.all_objects.exists()
    WebhookEvent.all_objects.filter(pk=event.pk).update(received_at=event.received_at - timedelta(minutes=5))
    assert sweep_stuck_work()["webhooks"] == 1
    assert WebhookEvent.all_objects.get(pk=event.pk).status == WebhookEvent.Status.PROCESSED
    assert Message.all_objects.filter(channel=whatsapp).count() == 1


def test_the_sweep_deletes_webhook_bodies_kept_past_their_time_and_never_waiting_ones(ingress, whatsapp, settings):
    """A body holds what the person wrote and their number: processed ones go after
    WEBHOOK_EVENTS_KEEP_DAYS, failed ones after WEBHOOK_EVENTS_FAILED_KEEP_DAYS, waiting ones never."""
    from datetime import timedelta

    from django.utils import timezone

    from integrations.maintenance import webhook_events_prune
    from integrations.tasks import sweep_stuck_work

    settings.WEBHOOK_EVENTS_KEEP_DAYS, settings.WEBHOOK_EVENTS_FAILED_KEEP_DAYS = 7, 30
    now = timezone.now()
    ages = {"processed old": (WebhookEvent.Status.PROCESSED, 8), "processed recent": (WebhookEvent.Status.PROCESSED, 6),
            "failed old": (WebhookEvent.Status.FAILED, 31), "failed recent": (WebhookEvent.Status.FAILED, 8),
            "waiting old": (WebhookEvent.Status.RECEIVED, 40)}
    events = {name: WebhookEvent.all_objects.create(tenant=whatsapp.tenant, channel=whatsapp, body="{}", status=status,
                                                    attempts=0 if status == WebhookEvent.Status.RECEIVED else 1,
                                                    received_at=now - timedelta(days=days))
              for name, (status, days) in ages.items()}

    with mock.patch("integrations.tasks.webhook_events_process.delay"):  # the waiting one is queued again, not run
        assert sweep_stuck_work()["webhook_bodies_pruned"] == 2

    left = set(WebhookEvent.all_objects.values_list("pk", flat=True))
    assert left == {events[name].pk for name in ("processed recent", "failed recent", "waiting old")}
    assert webhook_events_prune() == 0
