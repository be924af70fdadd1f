"""Every connection service fixture through the real webhook endpoint and the real pipeline."""

from __future__ import annotations

import json

import pytest

from channels_app.models import Channel
from contacts.models import ContactIdentity
from conversations.models import Conversation, Message
from integrations.models import WebhookEvent
from tests import factories
from tests.concurrency import at_once, concurrent_writers
from tests.integrations.baileys_service.conftest import (
    BAILEYS,
    CUSTOMER,
    FIXTURES,
    SECRET,
    SESSION,
    fixture,
    fixture_bytes,
)

pytestmark = pytest.mark.django_db

# fixture → (direction, type, content, contact's address)
INBOUND = {
    "message-text.json": ("INBOUND", "TEXT", "Hi, is my order shipped?", CUSTOMER),
    "message-reply.json": ("INBOUND", "TEXT", "Yes, that one", CUSTOMER),
    "message-image.json": ("INBOUND", "IMAGE", "Photo of the damaged box", CUSTOMER),
    "message-lid.json": ("INBOUND", "TEXT", "Message from a LID-addressed chat", CUSTOMER),
    "message-group.json": ("INBOUND", "TEXT", "Hello group", "120363000000000001@g.us"),
    "message-fromme.json": ("OUTBOUND", "TEXT", "Typed by the agent on the phone app", CUSTOMER),
}


def _sent_message(channel, provider_id: str) -> Message:
    conversation = factories.ConversationFactory(tenant=channel.tenant, channel=channel)
    return factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                    provider_message_id=provider_id)


def test_the_message_fixtures_carry_the_baileys_event_items_as_they_are():
    items = json.loads((BAILEYS / "messages-upsert-event.json").read_text())["messages"]

    assert [fixture(name)["data"] for name in ("message-text.json", "message-reply.json",
                                               "message-image.json")] == items
    assert all(fixture(name)["tenantId"] == SESSION for name in INBOUND)


@pytest.mark.parametrize("name", sorted(INBOUND))
def test_every_message_fixture_becomes_one_message(name, gateway, post_webhook, django_capture_on_commit_callbacks):
    direction, expected_type, expected_content, address = INBOUND[name]
    raw = fixture(name)["data"]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(gateway, fixture_bytes(name))

    assert response.status_code == 200
    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED and event.error == ""
    message = Message.all_objects.get(channel=gateway)
    assert message.provider_message_id == raw["key"]["id"]
    assert (message.direction, message.type, message.content) == (direction, expected_type, expected_content)
    contact = message.conversation.contact
    assert contact.identities.filter(external_id=address).exists()


def test_a_reply_points_at_the_message_it_quotes(gateway, post_webhook, django_capture_on_commit_callbacks):
    quoted = _sent_message(gateway, "3EB0F4KE00000000000001")  # "Hello from the inbox"

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes("message-reply.json"))

    reply = Message.all_objects.get(provider_message_id="3A0F4KE0000000000002")
    assert reply.reply_to_id == quoted.pk


def test_an_image_is_described_not_downloaded(gateway, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes("message-image.json"))

    media = Message.all_objects.get().content_attributes["media"]
    assert media["mime_type"] == "image/jpeg" and media["id"] == "B6C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6"


def test_a_group_is_a_contact_of_its_own_and_names_each_author(gateway, post_webhook,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes("message-group.json"))
        post_webhook(gateway, fixture_bytes("message-text.json"))

    group_message = Message.all_objects.get(provider_message_id="D8E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8")
    assert group_message.content_attributes["author"] == {"name": "Test Customer", "phone": "+15555550123"}
    person = Message.all_objects.get(provider_message_id="A5B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5")
    assert group_message.conversation_id != person.conversation_id
    assert group_message.conversation.contact_id != person.conversation.contact_id


def test_a_message_from_the_paired_phone_is_the_business_s(gateway, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes("message-text.json"))
        post_webhook(gateway, fixture_bytes("message-fromme.json"))

    mine = Message.all_objects.get(provider_message_id="3A0F4KE0000000000003")
    assert mine.direction == Message.Direction.OUTBOUND and mine.sender_type != Message.SenderType.CONTACT
    conversation = Conversation.all_objects.get()
    assert mine.conversation_id == conversation.pk and conversation.unread_count == 1  # only the customer's


@pytest.mark.parametrize("first,second", [("message-lid.json", "message-text.json"),
                                          ("message-text.json", "message-lid.json")])
def test_a_contact_by_lid_and_by_phone_is_one_contact(first, second, gateway, post_webhook,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes(first))
        post_webhook(gateway, fixture_bytes(second))

    assert Message.all_objects.count() == 2
    assert Conversation.all_objects.count() == 1
    addresses = set(ContactIdentity.all_objects.filter(channel=gateway).values_list("external_id", flat=True))
    assert addresses == {CUSTOMER, "100000000000123@lid"}
    assert Conversation.all_objects.get().contact.phone == "+" + CUSTOMER


def test_the_sha256_prefix_is_accepted(gateway, post_webhook, django_capture_on_commit_callbacks):
    from integrations.baileys_service.events import signature_for

    body = fixture_bytes("message-text.json")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(gateway, body, signature="sha256=" + signature_for(body, SECRET).upper())

    assert response.status_code == 200 and Message.all_objects.count() == 1


@pytest.mark.parametrize("signature", [None, "", "deadbeef", "sha256=", "sha1=abc"])
def test_a_missing_or_wrong_signature_is_401_and_nothing_is_kept(gateway, post_webhook, client, signature):
    body = fixture_bytes("message-text.json")
    if signature is None:
        response = client.post(f"/webhooks/whatsapp_gateway/{gateway.webhook_token}", body,
                               content_type="application/json")
    else:
        response = post_webhook(gateway, body, signature=signature)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert WebhookEvent.all_objects.count() == 0 and Message.all_objects.count() == 0


def test_signed_with_another_secret_or_over_other_bytes_is_401(gateway, post_webhook):
    from integrations.baileys_service.events import signature_for

    body = fixture_bytes("message-text.json")
    reencoded = json.dumps(json.loads(body)).encode()  # the same JSON, other bytes

    assert post_webhook(gateway, body, secret="another-secret").status_code == 401
    assert post_webhook(gateway, body, signature=signature_for(reencoded, SECRET)).status_code == 401
    assert WebhookEvent.all_objects.count() == 0


def test_a_channel_without_its_secret_accepts_nothing(gateway, post_webhook):
    Channel.all_objects.filter(pk=gateway.pk).update(credentials={})

    assert post_webhook(gateway, fixture_bytes("message-text.json"), secret="").status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"tenantId": "x"}', b'{"event": "message", "data": {}}',
                                  b'{"event": "qr", "data": {}}'])
def test_a_signed_but_unreadable_body_is_kept_with_its_error(body, gateway, post_webhook,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(gateway, body)

    assert response.status_code == 200
    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.FAILED and event.error
    assert Message.all_objects.count() == 0


def test_an_unknown_event_is_kept_and_said_ignored(gateway, post_webhook, django_capture_on_commit_callbacks):
    body = json.dumps({"event": "presence", "tenantId": SESSION, "data": {}}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, body)

    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED and "ignored" in event.error


def test_an_event_of_another_session_is_not_filed_under_this_channel(gateway, post_webhook,
                                                                     django_capture_on_commit_callbacks):
    payload = fixture("message-text.json")
    payload["tenantId"] = "someone-elses-session"

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, json.dumps(payload).encode())

    assert Message.all_objects.count() == 0
    assert "no channel of this account for someone-elses-session" in WebhookEvent.all_objects.get().error


def test_an_event_of_a_sibling_channels_session_is_filed_under_it(gateway, post_webhook,
                                                                  django_capture_on_commit_callbacks):
    sibling = factories.ChannelFactory(tenant=gateway.tenant, kind="whatsapp_gateway",
                                       config={"session_id": "inbox-sibling"}, credentials={"webhook_secret": "x"})
    payload = fixture("message-text.json")
    payload["tenantId"] = "inbox-sibling"

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, json.dumps(payload).encode())

    assert Message.all_objects.get().channel_id == sibling.pk


def test_duplicate_webhooks_make_one_message(gateway, post_webhook, django_capture_on_commit_callbacks):
    body = fixture_bytes("message-text.json")

    with django_capture_on_commit_callbacks(execute=True):
        codes = [post_webhook(gateway, body).status_code for _ in range(3)]

    assert codes == [200, 200, 200]
    assert WebhookEvent.all_objects.count() == 3
    assert Message.all_objects.count() == 1
    assert Conversation.all_objects.get().unread_count == 1


@concurrent_writers
def test_concurrent_duplicate_webhooks_make_one_message(gateway):
    from django.test import Client

    from integrations.baileys_service.events import signature_for

    body = fixture_bytes("message-text.json")

    def deliver() -> int:
        return Client().generic("POST", f"/webhooks/whatsapp_gateway/{gateway.webhook_token}", body,
                                content_type="application/json",
                                HTTP_X_WEBHOOK_SIGNATURE=signature_for(body, SECRET)).status_code

    codes = at_once([deliver] * 5)

    assert codes == [200] * 5
    assert Message.all_objects.filter(channel=gateway).count() == 1
    assert Conversation.all_objects.filter(channel=gateway).count() == 1


STATUS_FIXTURES = {
    "message-status-server-ack.json": "SENT", "message-status-delivered.json": "DELIVERED",
    "message-status-read.json": "READ", "messages-update-played.json": "READ", "message-status-error.json": "FAILED",
}


@pytest.mark.parametrize("name", sorted(STATUS_FIXTURES))
def test_every_status_fixture_moves_the_message(name, gateway, post_webhook, django_capture_on_commit_callbacks):
    provider_id = fixture(name)["data"][0]["key"]["id"]
    message = _sent_message(gateway, provider_id)
    Message.all_objects.filter(pk=message.pk).update(status=Message.Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(gateway, fixture_bytes(name)).status_code == 200

    message.refresh_from_db()
    expected = STATUS_FIXTURES[name]
    assert message.status == (Message.Status.SENT if expected == "SENT" else expected)
    if expected == "FAILED":
        assert message.error_code == "ERROR" and message.error_message
    assert WebhookEvent.all_objects.get().status == WebhookEvent.Status.PROCESSED


@pytest.mark.parametrize("order", [(3, 4, 2), (4, 3, 2), (4, 2, 3), (2, 3, 4)])
def test_statuses_in_any_order_end_read(order, gateway, post_webhook, django_capture_on_commit_callbacks):
    message = _sent_message(gateway, "3EB0F4KE00000000000001")
    template = fixture("message-status-delivered.json")

    with django_capture_on_commit_callbacks(execute=True):
        for status in order:
            template["data"][0]["update"]["status"] = status
            assert post_webhook(gateway, json.dumps(template).encode()).status_code == 200

    message.refresh_from_db()
    assert message.status == Message.Status.READ and message.read_at


def test_a_pending_status_and_a_receipt_of_the_contacts_message_change_nothing(gateway, post_webhook,
                                                                              django_capture_on_commit_callbacks):
    message = _sent_message(gateway, "3EB0F4KE00000000000001")
    pending = fixture("message-status-delivered.json")
    pending["data"][0]["update"]["status"] = 1
    theirs = fixture("message-status-read.json")
    theirs["data"][0]["key"]["fromMe"] = False

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, json.dumps(pending).encode())
        post_webhook(gateway, json.dumps(theirs).encode())

    message.refresh_from_db()
    assert message.status == Message.Status.PENDING
    assert all(event.error == "" for event in WebhookEvent.all_objects.all())


def test_a_qr_event_shows_the_services_qr_code(gateway, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes("qr.json"))

    gateway.refresh_from_db()
    assert gateway.status == Channel.Status.QR_PENDING
    assert gateway.config["pairing"]["qr_image"] == fixture("qr.json")["data"]["qrCode"]


@pytest.mark.parametrize("name,status,detail", [
    ("connection-connecting.json", "CONNECTING", ""),
    ("connection-connected.json", "CONNECTED", ""),
    ("connection-disconnected.json", "DISCONNECTED", "not connected"),
    ("status-logged-out.json", "DISCONNECTED", "Logged out"),
])
def test_connection_events_set_the_channels_status(name, status, detail, gateway, post_webhook, settings,
                                                   django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "en"
    Channel.all_objects.filter(pk=gateway.pk).update(status=Channel.Status.QR_PENDING,
                                                      config={**gateway.config, "pairing": {"qr_image": "x"}})

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(gateway, fixture_bytes(name))

    gateway.refresh_from_db()
    assert gateway.status == status and detail in gateway.status_detail
    assert gateway.config["pairing"] == {}  # the QR code is gone once it is no longer waiting
    if status == "CONNECTED":
        assert gateway.config["phone"] == "+15555550100"


def test_the_fixtures_folder_documents_every_event_it_holds():
    events = {json.loads(path.read_text()).get("event") for path in FIXTURES.glob("*.json")} - {None}

    assert events == {"message", "message.status", "messages.update", "qr", "connection", "status"}
