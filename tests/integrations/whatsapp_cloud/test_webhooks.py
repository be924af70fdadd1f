"""Every WhatsApp Cloud fixture through the real webhook endpoint."""

from __future__ import annotations

import json

import pytest

from conversations.models import Conversation, Message
from integrations.models import WebhookEvent
from tests.concurrency import at_once, concurrent_writers
from tests.integrations.whatsapp_cloud.conftest import FIXTURES, VERIFY_TOKEN, fixture_bytes

pytestmark = pytest.mark.django_db

INBOUND = {
    "inbound-text.json": ("TEXT", "Hi, does it come in another color?"),
    "inbound-text-bsuid.json": ("TEXT", "Hello from a username user"),
    "inbound-image.json": ("IMAGE", "Photo of the damaged box"),
    "inbound-audio-voice.json": ("AUDIO", ""),
    "inbound-document.json": ("DOCUMENT", "Invoice"),
    "inbound-location.json": ("LOCATION", "Example Store · 1 Example Way, Testville, CA 00000"),
    "inbound-contacts.json": ("CONTACT", "Jane Example"),
    "inbound-interactive-button-reply.json": ("INTERACTIVE", "Yes"),
    "inbound-interactive-list-reply.json": ("INTERACTIVE", "Billing"),
    "inbound-template-quick-reply-button.json": ("INTERACTIVE", "Stop promotions"),
    "inbound-reaction.json": ("REACTION", "👍"),
    "inbound-reaction-removed.json": ("REACTION", ""),
    "inbound-sticker.json": ("STICKER", ""),
    "inbound-reply-context.json": ("TEXT", "Yes, that one please"),
    "inbound-forwarded.json": ("TEXT", "forwarded text"),
    "inbound-unsupported.json": ("SYSTEM", "[Message type unknown]"),
}


def test_verification_handshake(client, whatsapp):
    handshake = json.loads((FIXTURES / "verify-handshake.json").read_text())
    url = f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"

    good = client.get(url, handshake["request"]["query"])
    bad = client.get(url, {**handshake["request"]["query"], "hub.verify_token": "wrong"})

    assert good.status_code == 200 and good.content.decode() == handshake["expected_response_on_match"]["body"]
    assert good["Content-Type"].startswith("text/plain")
    assert bad.status_code == 403
    assert VERIFY_TOKEN not in bad.content.decode()


def test_unknown_webhook_url_is_404(client, whatsapp):
    assert client.post("/webhooks/whatsapp_cloud/nope", b"{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize("name", sorted(INBOUND))
def test_every_inbound_fixture_becomes_one_message(name, whatsapp, post_webhook, django_capture_on_commit_callbacks):
    expected_type, expected_content = INBOUND[name]
    raw = json.loads((FIXTURES / name).read_text())["entry"][0]["changes"][0]["value"]["messages"][0]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, fixture_bytes(name))

    assert response.status_code == 200
    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED and event.error == ""
    message = Message.all_objects.get(channel=whatsapp)
    assert message.provider_message_id == raw["id"]
    assert (message.type, message.content) == (expected_type, expected_content)
    assert message.direction == Message.Direction.INBOUND
    contact = message.conversation.contact
    assert contact.identities.get().external_id == (raw.get("from") or raw.get("from_user_id"))
    assert contact.name == "Test Customer"


def test_media_reply_and_forward_details_are_kept(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, fixture_bytes("inbound-image.json"))
        post_webhook(whatsapp, fixture_bytes("inbound-forwarded.json"))

    image, forwarded = Message.all_objects.order_by("id")
    assert image.content_attributes["media"]["id"] == "900000000000001"
    assert image.content_attributes["media"]["mime_type"] == "image/jpeg"
    assert forwarded.content_attributes["forwarded"] is True
    assert image.conversation.contact.phone == "+15555550123"


def test_signature_is_checked_over_the_raw_bytes(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    vector = json.loads((FIXTURES / "signature-vector.json").read_text())["vectors"][0]
    body = vector["raw_body"].encode()

    with django_capture_on_commit_callbacks(execute=True):
        accepted = post_webhook(whatsapp, body, signature=vector["headers"]["X-Hub-Signature-256"])
        wrongly_computed = post_webhook(whatsapp, body,
                                        signature="sha256=" + vector["signature_if_wrongly_computed_over_unicode_decoded_body"])

    assert accepted.status_code == 200
    assert wrongly_computed.status_code == 401
    assert Message.all_objects.get().content == "Olá, café? ☕"
    assert Message.all_objects.get().conversation.contact.name == "José Test"


@pytest.mark.parametrize("signature", [None, "", "sha256=deadbeef", "sha1=abc"])
def test_missing_or_wrong_signature_is_401_and_nothing_is_kept(whatsapp, post_webhook, client, signature):
    body = fixture_bytes("inbound-text.json")
    if signature is None:
        response = client.post(f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}", body,
                               content_type="application/json")
    else:
        response = post_webhook(whatsapp, body, signature=signature)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert WebhookEvent.all_objects.count() == 0 and Message.all_objects.count() == 0


def test_signed_with_another_secret_is_401(whatsapp, post_webhook):
    assert post_webhook(whatsapp, fixture_bytes("inbound-text.json"), secret="other-secret").status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"object": "page"}', b'{"object":"whatsapp_business_account",'
                                  b'"entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text"}]}}]}]}'])
def test_signed_but_unreadable_body_is_kept_with_its_error_and_answered_200(whatsapp, post_webhook, body,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, body)

    assert response.status_code == 200
    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.FAILED and event.error
    assert event.body == body.decode()


def test_oversized_body_is_413(whatsapp, post_webhook, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000

    response = post_webhook(whatsapp, b'{"object":"whatsapp_business_account","pad":"' + b"x" * 2000 + b'"}')

    assert response.status_code == 413
    assert WebhookEvent.all_objects.count() == 0


def test_duplicate_webhooks_make_one_message(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    body = fixture_bytes("inbound-text.json")

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [post_webhook(whatsapp, body).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert WebhookEvent.all_objects.count() == 3
    assert Message.all_objects.count() == 1
    assert Conversation.all_objects.get().unread_count == 1


@concurrent_writers
def test_concurrent_duplicate_webhooks_make_one_message(whatsapp, client):
    from django.test import Client

    from integrations.whatsapp_cloud.adapter import signature_for
    from tests.integrations.whatsapp_cloud.conftest import APP_SECRET

    body = fixture_bytes("inbound-text.json")
    def deliver() -> int:
        return Client().generic("POST", f"/webhooks/whatsapp_cloud/{whatsapp.webhook_token}", body,
                                content_type="application/json",
                                HTTP_X_HUB_SIGNATURE_256=signature_for(body, APP_SECRET)).status_code

    codes = at_once([deliver] * 5)

    assert codes == [200] * 5
    assert Message.all_objects.filter(channel=whatsapp).count() == 1
    assert Conversation.all_objects.filter(channel=whatsapp).count() == 1


def _sent_message(whatsapp, wamid: str) -> Message:
    from tests import factories

    conversation = factories.ConversationFactory(tenant=whatsapp.tenant, channel=whatsapp)
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                    provider_message_id=wamid)


@pytest.mark.parametrize("order", [("status-sent.json", "status-delivered.json", "status-read.json"),
                                   ("status-read.json", "status-sent.json", "status-delivered.json"),
                                   ("status-delivered.json", "status-read.json", "status-sent.json")])
def test_statuses_in_any_order_end_read(whatsapp, post_webhook, order, django_capture_on_commit_callbacks):
    wamids = {json.loads((FIXTURES / name).read_text())["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
              for name in order}
    messages = {wamid: _sent_message(whatsapp, wamid) for wamid in wamids}

    with django_capture_on_commit_callbacks(execute=True):
        for name in order:
            assert post_webhook(whatsapp, fixture_bytes(name)).status_code == 200

    for message in messages.values():
        message.refresh_from_db()
    read_wamid = json.loads((FIXTURES / "status-read.json").read_text())["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    assert messages[read_wamid].status == Message.Status.READ
    assert all(event.status == WebhookEvent.Status.PROCESSED for event in WebhookEvent.all_objects.all())


@pytest.mark.parametrize("name,code", [("status-failed.json", "131047"), ("status-failed-131026.json", "131026"),
                                       ("status-failed-131049.json", "131049")])
def test_failed_status_keeps_metas_code_and_a_human_reason(whatsapp, post_webhook, name, code,
                                                          django_capture_on_commit_callbacks):
    status = json.loads((FIXTURES / name).read_text())["entry"][0]["changes"][0]["value"]["statuses"][0]
    message = _sent_message(whatsapp, status["id"])

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, fixture_bytes(name))

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.error_code == code and len(message.error_message) > 10


def test_batched_webhook_processes_every_update(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    payload = json.loads((FIXTURES / "webhook-batched-multi.json").read_text())
    values = [change["value"] for entry in payload["entry"] for change in entry["changes"]]
    wamids_in = [m["id"] for v in values for m in v.get("messages", [])]
    for status in [s for v in values for s in v.get("statuses", [])]:
        _sent_message(whatsapp, status["id"])

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, fixture_bytes("webhook-batched-multi.json"))

    ours = {m["id"] for v in values if v["metadata"]["phone_number_id"] == "100000000000002" for m in v.get("messages", [])}
    assert set(Message.all_objects.filter(direction="INBOUND").values_list("provider_message_id", flat=True)) == ours
    assert ours < set(wamids_in)  # the other number's message has no channel here: recorded, not filed
    assert "no channel of this account for 100000000000004" in WebhookEvent.all_objects.get().error
    assert not Message.all_objects.filter(direction="OUTBOUND", status="PENDING").exists()


def test_status_for_a_message_we_do_not_know_is_recorded_not_fatal(whatsapp, post_webhook,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(whatsapp, fixture_bytes("status-sent.json"))

    event = WebhookEvent.all_objects.get()
    assert response.status_code == 200 and event.status == WebhookEvent.Status.PROCESSED
    assert "unknown message" in event.error


def test_sent_template_status_fixture_is_understood(whatsapp, post_webhook, django_capture_on_commit_callbacks):
    status = json.loads((FIXTURES / "status-sent-template-marketing.json").read_text())
    wamid = status["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    message = _sent_message(whatsapp, wamid)

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, fixture_bytes("status-sent-template-marketing.json"))

    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_batched_update_for_another_number_of_the_tenant_goes_to_its_channel(whatsapp, post_webhook, acme,
                                                                             django_capture_on_commit_callbacks):
    from tests import factories

    second = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", config={"phone_number_id": "100000000000004"})

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, fixture_bytes("webhook-batched-multi.json"))

    assert Message.all_objects.get(provider_message_id="wamid.FAKE-IN-BATCH-0003").channel == second


def test_admins_see_a_failed_webhook_with_its_error(whatsapp, post_webhook, client,
                                                    django_capture_on_commit_callbacks):
    from accounts.models import User

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(whatsapp, b"{not json")
    client.force_login(User.objects.create_superuser("root@platform.test", "x"))

    page = client.get("/admin/integrations/webhookevent/?status__exact=FAILED")

    assert page.status_code == 200
    assert "unreadable body" in page.content.decode()
