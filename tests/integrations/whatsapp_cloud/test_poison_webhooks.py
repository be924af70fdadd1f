"""Webhooks that cannot be processed (a signed body nested 100,000 levels deep, NUL characters,
a body that keeps breaking processing) end PROCESSED or FAILED with their error after a bounded
number of attempts, never RECEIVED for ever; admins process them again. The pipeline is the
same for every provider (integrations.inbound); WhatsApp's signed bodies drive it here."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from conversations.models import Message
from integrations.inbound.tasks import webhook_events_process
from integrations.models import WebhookEvent
from integrations.tasks import sweep_stuck_work
from tests.factories import PASSWORD, ChannelFactory
from tests.integrations.whatsapp_cloud.conftest import FIXTURES, fixture_bytes

pytestmark = pytest.mark.django_db


def _text_body(text: str, message_id: str = "wamid.POISON-1") -> bytes:
    payload = json.loads((FIXTURES / "inbound-text.json").read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = message_id, text
    return json.dumps(payload, separators=(",", ":")).encode()


def _workers_and_sweeps_keep_trying(event: WebhookEvent, rounds: int = 12) -> WebhookEvent:
    """What a worker's retries and beat's sweep do over hours: process the event again and again."""
    for _ in range(rounds):
        WebhookEvent.all_objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(hours=1))
        for attempt in (lambda: webhook_events_process.apply(kwargs={"event_ids": [event.pk]}), sweep_stuck_work):
            try:
                attempt()
            except Exception:  # noqa: S110 - (eager tasks raise) a failed attempt is what is being counted
                pass
    event.refresh_from_db()
    return event


def test_a_signed_body_nested_100000_deep_fails_with_its_error_at_once(whatsapp, post_webhook,
                                                                        django_capture_on_commit_callbacks, settings):
    body = b'{"object":"whatsapp_business_account","entry":' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, body)

    assert response.status_code == 200  # kept, not refused: the provider would deliver it again and again
    event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())
    assert event.status == WebhookEvent.Status.FAILED
    assert "nested deeper than" in event.error
    assert event.attempts == 1  # nothing will change its outcome: no second attempt
    assert event.processed_at is not None


def test_a_text_with_a_nul_character_is_processed_without_it(whatsapp, post_webhook,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, _text_body("antes\u0000depois"))

    assert response.status_code == 200
    event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())
    assert event.status == WebhookEvent.Status.PROCESSED, event.error
    assert Message.all_objects.get(provider_message_id="wamid.POISON-1").content == "antesdepois"


def test_nul_characters_anywhere_in_a_message_are_dropped(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    payload = json.loads(_text_body("oi"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = "Ana\u0000 Souza"
    message = value["messages"][0]
    message["type"], message["location"] = "location", {"name": "Loja\u0000", "address": "Rua 1", "x\u0000": "y\u0000"}

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, json.dumps(payload).encode())

    event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())
    assert event.status == WebhookEvent.Status.PROCESSED, event.error
    stored = Message.all_objects.select_related("conversation__contact").get(provider_message_id="wamid.POISON-1")
    assert stored.conversation.contact.name == "Ana Souza"
    assert stored.content_attributes["location"] == {"name": "Loja", "address": "Rua 1", "x": "y"}


def test_a_raw_nul_byte_in_a_signed_body_is_kept_and_fails_with_its_error(whatsapp, post_webhook,
                                                                          django_capture_on_commit_callbacks):
    body = _text_body("oi").replace(b'"oi"', b'"o\x00i"')

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, body)

    assert response.status_code == 200
    event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())
    assert event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.FAILED)
    assert "\x00" not in event.body
    assert event.status == WebhookEvent.Status.PROCESSED or event.error


def test_a_body_that_keeps_breaking_processing_fails_after_a_bounded_number_of_attempts(whatsapp, post_webhook,
                                                                                       settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    post_webhook(whatsapp, _text_body("oi"))  # stored; its task would run on commit

    with mock.patch("integrations.inbound.process.messages_receive", side_effect=RuntimeError("a bug it triggers")):
        event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())

    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 4
    assert "RuntimeError: a bug it triggers" in event.error
    assert "4 attempts" in event.error
    assert Message.all_objects.count() == 0


def test_an_attempt_that_fails_records_its_error_while_the_event_waits_for_the_next(whatsapp, post_webhook):
    post_webhook(whatsapp, _text_body("oi"))

    with mock.patch("integrations.inbound.process.messages_receive", side_effect=RuntimeError("not now")):
        event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get(), rounds=1)

    assert event.status == WebhookEvent.Status.RECEIVED
    assert 1 <= event.attempts < 5
    assert "RuntimeError: not now" in event.error


def test_platform_staff_process_a_failed_webhook_again(whatsapp, post_webhook, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    post_webhook(whatsapp, _text_body("oi"))
    with mock.patch("integrations.inbound.process.messages_receive", side_effect=RuntimeError("a bug, since fixed")):
        event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())
    assert event.status == WebhookEvent.Status.FAILED
    staff = Client()
    staff.force_login(User.objects.create_superuser("root@platform.test", "x"))

    listing = staff.get("/admin/integrations/webhookevent/?status__exact=FAILED")
    response = staff.post("/admin/integrations/webhookevent/",
                          {"action": "process_again", "_selected_action": [str(event.pk)]})

    assert "a bug, since fixed" in listing.content.decode()
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED and event.error == ""
    assert Message.all_objects.filter(provider_message_id="wamid.POISON-1").count() == 1


def test_processing_again_a_body_that_still_fails_ends_failed_again(whatsapp, post_webhook,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, b'{"object":"whatsapp_business_account","entry":' + b"[" * 5000 + b"]" * 5000 + b"}")
    event = WebhookEvent.all_objects.get()
    staff = Client()
    staff.force_login(User.objects.create_superuser("root@platform.test", "x"))

    staff.post("/admin/integrations/webhookevent/", {"action": "process_again", "_selected_action": [str(event.pk)]})

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED and "nested deeper than" in event.error


def test_ordinary_webhooks_still_take_one_attempt(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, fixture_bytes("webhook-batched-multi.json"))

    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 1


def test_tenant_admins_process_their_channels_failed_webhooks_again(whatsapp, post_webhook, settings, member, globex):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    post_webhook(whatsapp, _text_body("oi"))
    with mock.patch("integrations.inbound.process.messages_receive", side_effect=RuntimeError("a bug, since fixed")):
        event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get(), rounds=1)
    assert event.status == WebhookEvent.Status.FAILED
    other = ChannelFactory(tenant=globex, kind="whatsapp_cloud")
    foreign = WebhookEvent.all_objects.create(tenant=globex, channel=other, body="{}",
                                              status=WebhookEvent.Status.FAILED)
    path = f"/settings/channels/{whatsapp.public_id}/webhooks/process-again/"

    def logged_in(role):
        client = Client()
        client.post("/login/", {"email": member(whatsapp.tenant, role).user.email, "password": PASSWORD})
        return client

    refused = logged_in(Role.AGENT).post(path)
    assert refused.status_code == 403 and WebhookEvent.all_objects.get(pk=event.pk).status == "FAILED"
    admin = logged_in(Role.TENANT_ADMIN)
    page = admin.get(f"/settings/channels/{whatsapp.public_id}/").content.decode()
    assert "a bug, since fixed" in page
    assert f'action="{path}"' in page  # the page's button
    assert admin.post(f"/settings/channels/{other.public_id}/webhooks/process-again/").status_code == 404

    response = admin.post(path, follow=True)

    assert response.redirect_chain[-1][1] == 302
    assert "1 webhook está sendo processado novamente." in response.content.decode()  # the tenant speaks pt-BR
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Message.all_objects.filter(provider_message_id="wamid.POISON-1").count() == 1
    assert WebhookEvent.all_objects.get(pk=foreign.pk).status == WebhookEvent.Status.FAILED


def test_a_text_no_database_can_store_ends_failed_with_its_error_after_bounded_attempts(whatsapp, post_webhook,
                                                                                        settings):
    """A lone surrogate (\\ud800) parses, but no UTF-8 text holds it: never retried for ever."""
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    post_webhook(whatsapp, _text_body("oi").replace(b'"oi"', b'"o\\ud800i"'))

    event = _workers_and_sweeps_keep_trying(WebhookEvent.all_objects.get())

    assert event.status in (WebhookEvent.Status.FAILED, WebhookEvent.Status.PROCESSED)
    assert event.attempts <= 3
    assert event.status == WebhookEvent.Status.PROCESSED or "gave up after 3 attempts" in event.error
