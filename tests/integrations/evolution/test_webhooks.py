"""Every Evolution API webhook fixture through the real endpoint and the real pipeline (eager
tasks): messages, receipts, pairing; the secret header and the JWT mode; duplicates; one contact
per person whatever address WhatsApp uses."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from channels_app.models import Channel
from contacts.models import Contact, ContactIdentity
from conversations.models import Conversation, Message
from integrations.models import WebhookEvent
from tests import factories
from tests.concurrency import at_once, concurrent_writers
from tests.integrations.evolution.conftest import (
    BUSINESS,
    CUSTOMER,
    SECRET_HEADER,
    WEBHOOK_SECRET,
    fixture_bytes,
    fixture_json,
    upsert,
)

pytestmark = pytest.mark.django_db

INBOUND = {
    "webhook-messages-upsert-text.json": ("TEXT", "Hi, is my order shipped?", False),
    "webhook-messages-upsert-reply.json": ("TEXT", "Yes, that one", False),
    "webhook-messages-upsert-image.json": ("IMAGE", "Photo of the damaged box", False),
    "webhook-messages-upsert-lid.json": ("TEXT", "Message from a LID-addressed chat", False),
    "webhook-messages-upsert-group.json": ("TEXT", "Hello group", False),
    "webhook-messages-upsert-fromme-phone.json": ("TEXT", "Typed by the agent on the phone app", True),
}
# What else Evolution posts: stored, processed, and nothing in the inbox changes.
HARMLESS = ("webhook-send-message.json", "webhook-messages-delete.json")


def _processed(event: WebhookEvent) -> None:
    event.refresh_from_db()
    assert (event.status, event.error) == (WebhookEvent.Status.PROCESSED, "")


@pytest.mark.parametrize("name", sorted(INBOUND))
def test_every_message_fixture_becomes_one_message(name, evolution_channel, post_webhook,
                                                   django_capture_on_commit_callbacks):
    expected_type, expected_content, from_me = INBOUND[name]
    key = fixture_json(name)["data"]["key"]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(evolution_channel, fixture_bytes(name))

    assert response.status_code == 200
    _processed(WebhookEvent.all_objects.get())
    message = Message.all_objects.get(channel=evolution_channel)
    assert message.provider_message_id == key["id"]
    assert (message.type, message.content) == (expected_type, expected_content)
    if from_me:  # typed on the paired phone: the business's, already sent, not unread
        assert (message.direction, message.status) == (Message.Direction.OUTBOUND, Message.Status.SENT)
        assert message.conversation.unread_count == 0
    else:
        assert message.direction == Message.Direction.INBOUND
    contact = message.conversation.contact
    identities = set(contact.identities.values_list("external_id", flat=True))
    if key["remoteJid"].endswith("@g.us"):
        assert identities == {key["remoteJid"]} and contact.name == ""
    else:
        assert identities == {CUSTOMER, "100000000000123@lid"}
        assert contact.phone == f"+{CUSTOMER}"
        assert contact.name == ("" if from_me else "Test Customer")


def test_a_reply_links_to_the_message_it_quotes(evolution_channel, post_webhook, django_capture_on_commit_callbacks):
    conversation = factories.ConversationFactory(tenant=evolution_channel.tenant, channel=evolution_channel)
    ours = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                    provider_message_id="3EB0F4KE00000000000001")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-reply.json"))

    assert Message.all_objects.get(provider_message_id="3A0F4KE0000000000002").reply_to_id == ours.pk


def test_a_photo_is_described_for_its_download(evolution_channel, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-image.json"))

    media = Message.all_objects.get().content_attributes["media"]
    assert media["id"] == "B6C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6" and media["mime_type"] == "image/jpeg"
    assert media["size"] == 291957
    assert media["download"]["message"]["imageMessage"]["directPath"].startswith("/o1/v/t24/")
    assert "base64" not in media  # the webhook carried none


@pytest.mark.parametrize("name", HARMLESS)
def test_our_own_echo_and_a_deletion_change_nothing(name, evolution_channel, post_webhook,
                                                   django_capture_on_commit_callbacks, events):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(evolution_channel, fixture_bytes(name))

    assert response.status_code == 200
    _processed(WebhookEvent.all_objects.get())  # kept, as every delivery is
    assert Message.all_objects.count() == 0 and Conversation.all_objects.count() == 0
    assert events == []


def test_the_echo_of_a_sent_reply_leaves_the_reply_alone(evolution_channel, post_webhook,
                                                          django_capture_on_commit_callbacks):
    conversation = factories.ConversationFactory(tenant=evolution_channel.tenant, channel=evolution_channel)
    reply = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                     status=Message.Status.SENT, provider_message_id="3EB0F4KE00000000000001",
                                     content="Hello from the inbox")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-send-message.json"))

    assert Message.all_objects.filter(channel=evolution_channel).count() == 1
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT


def test_receipts_move_a_reply_forward_and_read_stays_read(evolution_channel, post_webhook,
                                                           django_capture_on_commit_callbacks):
    conversation = factories.ConversationFactory(tenant=evolution_channel.tenant, channel=evolution_channel)
    reply = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                     status=Message.Status.SENT, provider_message_id="3EB0F4KE00000000000001")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-update-read.json"))
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-update-delivered.json"))  # late

    reply.refresh_from_db()
    assert reply.status == Message.Status.READ and reply.read_at and reply.delivered_at
    assert set(WebhookEvent.all_objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}


@pytest.mark.parametrize("status,expected", [("SERVER_ACK", "SENT"), ("DELIVERY_ACK", "DELIVERED"),
                                             ("READ", "READ"), ("PLAYED", "READ"), ("ERROR", "FAILED")])
def test_each_receipt_maps_to_a_delivery_status(status, expected, evolution_channel, post_webhook,
                                                django_capture_on_commit_callbacks):
    conversation = factories.ConversationFactory(tenant=evolution_channel.tenant, channel=evolution_channel)
    reply = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                     status=Message.Status.PENDING, provider_message_id="3EB0F4KE00000000000001")
    payload = fixture_json("webhook-messages-update-delivered.json")
    payload["data"]["status"] = status

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, json.dumps(payload).encode())

    reply.refresh_from_db()
    assert reply.status == expected
    if expected == "FAILED":
        assert reply.error_message


def test_a_receipt_of_a_contacts_message_is_not_ours_to_track(evolution_channel, post_webhook,
                                                              django_capture_on_commit_callbacks):
    payload = fixture_json("webhook-messages-update-read.json")
    payload["data"].update(fromMe=False, keyId="A5B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"))
        post_webhook(evolution_channel, json.dumps(payload).encode())

    assert Message.all_objects.get().status == Message.Status.DELIVERED
    assert set(WebhookEvent.all_objects.values_list("error", flat=True)) == {""}


@pytest.mark.parametrize("name,status,detail", [
    ("webhook-qrcode-updated.json", Channel.Status.QR_PENDING, ""),
    ("webhook-qrcode-limit-reached.json", Channel.Status.ERROR, "No QR code was scanned in time"),
    ("webhook-connection-update-connecting.json", Channel.Status.CONNECTING, ""),
    ("webhook-connection-update-open.json", Channel.Status.CONNECTED, ""),
    ("webhook-connection-update-refused.json", Channel.Status.ERROR, "No QR code was scanned in time"),
    ("webhook-connection-update-close-logged-out.json", Channel.Status.DISCONNECTED, "Logged out on the phone"),
])
def test_pairing_fixtures_set_the_channels_state(name, status, detail, evolution_channel, post_webhook,
                                                 django_capture_on_commit_callbacks):
    Channel.all_objects.filter(pk=evolution_channel.pk).update(status=Channel.Status.INACTIVE, config={
        **evolution_channel.config, "phone": ""})

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(evolution_channel, fixture_bytes(name)).status_code == 200

    _processed(WebhookEvent.all_objects.get())
    evolution_channel.refresh_from_db()
    assert evolution_channel.status == status and detail in evolution_channel.status_detail
    pairing = evolution_channel.config.get("pairing") or {}
    if status == Channel.Status.QR_PENDING:
        assert pairing["qr_code"].startswith("2@FAKEQRREF") and pairing["qr_image"].startswith("data:image/png")
    else:
        assert not pairing.get("qr_code")
    if status == Channel.Status.CONNECTED:
        assert evolution_channel.config["phone"] == f"+{BUSINESS}"


def test_unknown_events_are_kept_and_ignored(evolution_channel, post_webhook, django_capture_on_commit_callbacks):
    body = json.dumps({"event": "presence.update", "instance": "inbox-test", "data": {"id": "x"}}).encode()

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(evolution_channel, body).status_code == 200

    _processed(WebhookEvent.all_objects.get())


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"event": "messages.upsert", "data": {"key": {}}}'])
def test_an_unreadable_body_is_kept_with_its_error(evolution_channel, post_webhook, body,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(evolution_channel, body).status_code == 200

    event = WebhookEvent.all_objects.get()
    assert event.status == WebhookEvent.Status.FAILED and "unreadable body" in event.error


# --- proof of origin --------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
def test_a_missing_or_wrong_secret_is_401_and_nothing_is_kept(secret, evolution_channel, post_webhook):
    response = post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"), secret=secret)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert WEBHOOK_SECRET not in response.content.decode()
    assert WebhookEvent.all_objects.count() == 0 and Message.all_objects.count() == 0


def test_another_channels_secret_is_refused(evolution_channel, post_webhook, acme):
    other = factories.ChannelFactory(tenant=acme, kind="whatsapp_evolution", config={"instance": "other"},
                                     credentials={"webhook_secret": "the-other-channels-secret"})

    response = post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"),
                            secret=other.credentials["webhook_secret"])

    assert response.status_code == 401 and WebhookEvent.all_objects.count() == 0


def _jwt(secret=WEBHOOK_SECRET, *, expires_in=600, **claims):
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + expires_in, "app": "evolution", "action": "webhook", **claims},
                      secret, algorithm="HS256")


def test_evolutions_jwt_mode_is_accepted(evolution_channel, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"), secret=None,
                                HTTP_AUTHORIZATION=f"Bearer {_jwt()}")

    assert response.status_code == 200
    event = WebhookEvent.all_objects.get()
    assert event.signature.startswith("jwt exp=") and WEBHOOK_SECRET not in event.signature
    assert Message.all_objects.count() == 1


@pytest.mark.parametrize("token", [
    pytest.param(lambda: _jwt(expires_in=-3600), id="expired"),
    pytest.param(lambda: _jwt("another-channels-secret-0123456789abcdef"), id="another key"),
    pytest.param(lambda: _jwt(action="something else"), id="not a webhook's"),
    pytest.param(lambda: jwt.encode({"app": "evolution", "action": "webhook"}, WEBHOOK_SECRET, algorithm="HS256"),
                 id="no expiry"),
    pytest.param(lambda: jwt.encode({"exp": int(time.time()) + 60, "app": "evolution", "action": "webhook"},
                                    WEBHOOK_SECRET, algorithm="HS512"), id="another algorithm"),
])
def test_a_refused_jwt_is_401_and_nothing_is_kept(token, evolution_channel, post_webhook):
    response = post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"), secret=None,
                            HTTP_AUTHORIZATION=f"Bearer {token()}")

    assert response.status_code == 401 and WebhookEvent.all_objects.count() == 0


def test_the_secret_header_is_what_is_kept_as_proof_never_the_secret(evolution_channel, post_webhook):
    post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"))

    assert WebhookEvent.all_objects.get().signature == "x-inbox-webhook-secret"


# --- duplicates and addresses -----------------------------------------------------------


def test_a_duplicate_webhook_makes_one_message(evolution_channel, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json")).status_code == 200

    assert WebhookEvent.all_objects.count() == 3
    assert Message.all_objects.filter(channel=evolution_channel).count() == 1
    assert Conversation.all_objects.get().unread_count == 1


@concurrent_writers
def test_concurrent_duplicate_webhooks_make_one_message(evolution_channel):
    from django.test import Client

    body = fixture_bytes("webhook-messages-upsert-text.json")

    def deliver() -> int:
        return Client().generic("POST", f"/webhooks/whatsapp_evolution/{evolution_channel.webhook_token}", body,
                                content_type="application/json", **{SECRET_HEADER: WEBHOOK_SECRET}).status_code

    assert at_once([deliver] * 5) == [200] * 5
    assert Message.all_objects.filter(channel=evolution_channel).count() == 1
    assert Conversation.all_objects.filter(channel=evolution_channel).count() == 1
    assert Contact.all_objects.filter(tenant=evolution_channel.tenant).count() == 1


@concurrent_writers
def test_concurrent_first_messages_by_phone_and_by_lid_make_one_contact(evolution_channel):
    from django.test import Client

    by_phone = upsert(id="AAAA0000000000000000000000000001")
    by_lid = upsert("webhook-messages-upsert-lid.json", id="AAAA0000000000000000000000000002")

    def deliver(body: bytes):
        return lambda: Client().generic(
            "POST", f"/webhooks/whatsapp_evolution/{evolution_channel.webhook_token}", body,
            content_type="application/json", **{SECRET_HEADER: WEBHOOK_SECRET}).status_code

    assert at_once([deliver(by_phone), deliver(by_lid)]) == [200, 200]
    assert Message.all_objects.filter(channel=evolution_channel).count() == 2
    assert Conversation.all_objects.filter(channel=evolution_channel).count() == 1


def test_a_group_is_one_conversation_and_each_message_names_its_author(evolution_channel, post_webhook,
                                                                      django_capture_on_commit_callbacks):
    second = fixture_json("webhook-messages-upsert-group.json")
    second["data"]["key"].update(id="D8E4F5A6B7C8D9E0F1A2B3C4D5E6F7A9", participant="5511987654321@s.whatsapp.net")
    second["data"]["key"].pop("participantAlt")
    second["data"]["pushName"] = "Outra Pessoa"
    second["data"]["message"] = {"conversation": "Eu também"}

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-group.json"))
        post_webhook(evolution_channel, json.dumps(second).encode())

    conversation = Conversation.all_objects.get(channel=evolution_channel)
    assert conversation.contact.identities.get().external_id == "120363000000000001@g.us"
    authors = [message.content_attributes["author"] for message in conversation.messages.order_by("id")]
    assert authors == [{"name": "Test Customer", "phone": "+15555550123"},
                       {"name": "Outra Pessoa", "phone": "+5511987654321"}]
    # The participants are no contacts of their own: the group is.
    assert not ContactIdentity.all_objects.filter(external_id__in=[CUSTOMER, "5511987654321"]).exists()


def test_a_message_typed_on_the_phone_joins_the_customers_conversation(evolution_channel, post_webhook,
                                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-text.json"))
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-fromme-phone.json"))

    conversation = Conversation.all_objects.get(channel=evolution_channel)
    directions = list(conversation.messages.order_by("id").values_list("direction", flat=True))
    assert directions == [Message.Direction.INBOUND, Message.Direction.OUTBOUND]
    assert conversation.contact.name == "Test Customer"  # the business's own name ("Você") never replaces it


def test_a_lid_addressed_chat_and_a_later_phone_one_are_one_contact(evolution_channel, post_webhook,
                                                                   django_capture_on_commit_callbacks):
    only_lid = fixture_json("webhook-messages-upsert-lid.json")
    only_lid["data"]["key"].pop("remoteJidAlt")  # WhatsApp did not say the phone yet
    later_with_phone = upsert("webhook-messages-upsert-lid.json", id="C7D3E4F5A6B7C8D9E0F1A2B3C4D5E6F8")
    by_phone_only = upsert(id="A5B1C2D3E4F5A6B7C8D9E0F1A2B3C4D6")
    payload = json.loads(by_phone_only)
    payload["data"]["key"].pop("remoteJidAlt")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, json.dumps(only_lid).encode())
        post_webhook(evolution_channel, later_with_phone)
        post_webhook(evolution_channel, json.dumps(payload).encode())

    assert Contact.all_objects.filter(tenant=evolution_channel.tenant).count() == 1
    assert Conversation.all_objects.filter(channel=evolution_channel).count() == 1
    assert Message.all_objects.filter(channel=evolution_channel).count() == 3
    identities = set(ContactIdentity.all_objects.values_list("external_id", flat=True))
    assert identities == {"100000000000123@lid", CUSTOMER}


def test_a_brazilian_number_with_and_without_the_ninth_digit_is_one_contact(evolution_channel, post_webhook,
                                                                           django_capture_on_commit_callbacks):
    old_jid = upsert(id="B0000000000000000000000000000001", remoteJid="551187654321@s.whatsapp.net",
                     remoteJidAlt="100000000000777@lid", text="Sem o nono dígito")
    new_jid = upsert(id="B0000000000000000000000000000002", remoteJid="5511987654321@s.whatsapp.net",
                     remoteJidAlt=None, text="Com o nono dígito")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, old_jid)
        post_webhook(evolution_channel, new_jid)

    contact = Contact.all_objects.get(tenant=evolution_channel.tenant)
    assert contact.phone == "+5511987654321"
    assert Conversation.all_objects.filter(channel=evolution_channel).count() == 1
    assert set(contact.identities.values_list("external_id", flat=True)) == {
        "5511987654321", "551187654321", "100000000000777@lid"}
