"""WhatsApp Web messages (Baileys' WAMessage) read as the inbox's IncomingMessage: who the
contact is (phone, @lid, groups, Brazil's ninth digit), and each content kind."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.whatsapp_web.jids import brazil_phone_forms, contact_address, jid_parse
from integrations.whatsapp_web.messages import incoming_message, long_value


def _message(content, *, remote="5511987654321@s.whatsapp.net", from_me=False, **key):
    return {"key": {"remoteJid": remote, "fromMe": from_me, "id": "3EB0AAAABBBBCCCCDDDD01", **key},
            "message": content, "messageTimestamp": 1750000600, "pushName": "Maria"}


@pytest.mark.parametrize("digits,canonical,others", [
    ("551187654321", "5511987654321", ("551187654321",)),  # an old JID, without the ninth digit
    ("5511987654321", "5511987654321", ("551187654321",)),  # today's form
    ("551133334444", "551133334444", ()),  # a landline (first digit 2-5) has no ninth digit
    ("5511912345678", "5511912345678", ()),  # a new mobile range (9 + 1...): never had an 8-digit form
    ("15555550123", "15555550123", ()),  # not Brazil
])
def test_a_brazilian_mobile_has_one_canonical_form(digits, canonical, others):
    assert brazil_phone_forms(digits) == (canonical, others)


def test_jids_lose_their_device_part():
    assert str(jid_parse("5511987654321:12@s.whatsapp.net")) == "5511987654321@s.whatsapp.net"
    assert jid_parse("no-at-sign") is None and jid_parse(None) is None


def test_a_lid_chat_with_its_phone_is_the_phone_with_the_lid_as_alias():
    address = contact_address("100000000000123@lid", "15555550123@s.whatsapp.net")

    assert (address.external_id, address.aliases, address.phone) == (
        "15555550123", ("100000000000123@lid",), "+15555550123")


def test_a_lid_chat_without_its_phone_is_the_lid():
    address = contact_address("100000000000123@lid")

    assert (address.external_id, address.aliases, address.phone) == ("100000000000123@lid", (), "")


@pytest.mark.parametrize("jid", ["status@broadcast", "120363000000000009@newsletter"])
def test_status_updates_and_channels_are_nobodys_message(jid):
    assert incoming_message(_message({"conversation": "x"}, remote=jid)) is None


def test_an_old_brazilian_jid_is_the_number_with_the_ninth_digit():
    message = incoming_message(_message({"conversation": "Oi"}, remote="551187654321@s.whatsapp.net"))

    assert message.contact_external_id == "5511987654321" and message.contact_phone == "+5511987654321"
    assert message.contact_aliases == ("551187654321",)


def test_a_text_with_its_reply_and_forward():
    message = incoming_message(_message({"extendedTextMessage": {
        "text": "Esse mesmo", "contextInfo": {"stanzaId": "3EB0QUOTED", "isForwarded": True}}}))

    assert (message.type, message.content, message.reply_to_provider_id) == ("TEXT", "Esse mesmo", "3EB0QUOTED")
    assert message.content_attributes["forwarded"] is True
    assert message.sent_at == dt.datetime(2025, 6, 15, 15, 16, 40, tzinfo=dt.UTC)
    assert message.contact_name == "Maria" and not message.from_me


def test_a_context_lifted_next_to_the_message_is_read_too():
    raw = _message({"conversation": "Yes"})
    raw["contextInfo"] = {"stanzaId": "3EB0QUOTED"}

    assert incoming_message(raw).reply_to_provider_id == "3EB0QUOTED"


def test_a_message_from_the_paired_phone_is_the_business_not_the_contact():
    raw = _message({"conversation": "Typed on the phone"}, from_me=True)
    raw["pushName"] = "Você"

    message = incoming_message(raw)

    assert message.from_me and message.contact_external_id == "5511987654321" and message.contact_name == ""


def test_a_group_is_its_own_contact_and_names_the_author():
    raw = _message({"conversation": "Hello group"}, remote="120363000000000001@g.us",
                   participant="100000000000123@lid", participantAlt="551187654321@s.whatsapp.net")

    message = incoming_message(raw, group_subject="Clientes VIP")

    assert (message.contact_external_id, message.contact_name, message.contact_phone) == (
        "120363000000000001@g.us", "Clientes VIP", "")
    assert message.content_attributes["author"] == {"name": "Maria", "phone": "+5511987654321"}


@pytest.mark.parametrize("kind,body,expected_type,content", [
    ("imageMessage", {"mimetype": "image/jpeg", "caption": "A caixa"}, "IMAGE", "A caixa"),
    ("videoMessage", {"mimetype": "video/mp4"}, "VIDEO", ""),
    ("audioMessage", {"mimetype": "audio/ogg; codecs=opus", "ptt": True}, "AUDIO", ""),
    ("documentMessage", {"mimetype": "application/pdf", "fileName": "nota.pdf", "caption": "Nota"}, "DOCUMENT", "Nota"),
    ("stickerMessage", {"mimetype": "image/webp", "isAnimated": True}, "STICKER", ""),
])
def test_media_are_described_with_what_a_download_needs(kind, body, expected_type, content):
    fields = {"url": "https://mmg.whatsapp.net/x", "directPath": "/x", "mediaKey": {"0": 1, "1": 2},
              "fileLength": {"low": 1234, "high": 0, "unsigned": True}, "jpegThumbnail": {"0": 255}}
    message = incoming_message(_message({kind: {**body, **fields}, "messageContextInfo": {}}))

    assert (message.type, message.content) == (expected_type, content)
    media = message.content_attributes["media"]
    assert media["id"] == "3EB0AAAABBBBCCCCDDDD01" and media["mime_type"] == body["mimetype"] and media["size"] == 1234
    download = media["download"]
    assert download["key"]["id"] == media["id"] and download["key"]["remoteJid"] == "5511987654321@s.whatsapp.net"
    assert download["message"][kind]["mediaKey"] == {"0": 1, "1": 2}  # kept as it came: opaque
    assert "jpegThumbnail" not in download["message"][kind]
    if kind == "audioMessage":
        assert media["voice"] is True
    if kind == "documentMessage":
        assert media["filename"] == "nota.pdf"


def test_a_captioned_document_and_a_view_once_photo_are_unwrapped():
    document = incoming_message(_message({"documentWithCaptionMessage": {"message": {"documentMessage": {
        "mimetype": "application/pdf", "fileName": "a.pdf", "caption": "Segue"}}}}))
    photo = incoming_message(_message({"ephemeralMessage": {"message": {"viewOnceMessageV2": {"message": {
        "imageMessage": {"mimetype": "image/jpeg"}}}}}}))

    assert (document.type, document.content) == ("DOCUMENT", "Segue")
    assert photo.type == "IMAGE"


def test_a_location_as_the_cloud_channel_keeps_it():
    message = incoming_message(_message({"locationMessage": {
        "degreesLatitude": -23.56, "degreesLongitude": -46.65, "name": "Loja", "address": "Av. Paulista, 1000"}}))

    assert (message.type, message.content) == ("LOCATION", "Loja · Av. Paulista, 1000")
    assert message.content_attributes["location"] == {"latitude": -23.56, "longitude": -46.65, "name": "Loja",
                                                      "address": "Av. Paulista, 1000"}


def test_shared_contacts_become_cards():
    vcard = ("BEGIN:VCARD\nVERSION:3.0\nN:;Jane;;;\nFN:Jane Example\n"
             "item1.TEL;waid=5511987654321:+55 11 98765-4321\nitem1.X-ABLabel:Celular\nEND:VCARD")
    single = incoming_message(_message({"contactMessage": {"displayName": "Jane Example", "vcard": vcard}}))
    several = incoming_message(_message({"contactsArrayMessage": {"displayName": "2 contatos", "contacts": [
        {"displayName": "Jane Example", "vcard": vcard}, {"displayName": "John", "vcard": "BEGIN:VCARD\nEND:VCARD"}]}}))

    assert (single.type, single.content) == ("CONTACT", "Jane Example")
    assert single.content_attributes["contacts"][0]["phones"] == [{"phone": "+55 11 98765-4321",
                                                                   "wa_id": "5511987654321"}]
    assert several.content == "Jane Example, John"


@pytest.mark.parametrize("emoji", ["👍", ""])
def test_a_reaction_names_the_message_it_is_about(emoji):
    message = incoming_message(_message({"reactionMessage": {"key": {"id": "3EB0TARGET"}, "text": emoji}}))

    assert (message.type, message.content) == ("REACTION", emoji)
    assert message.content_attributes["reaction"] == {"message_id": "3EB0TARGET", "emoji": emoji,
                                                      "removed": not emoji}


def test_a_button_reply_is_interactive():
    message = incoming_message(_message({"buttonsResponseMessage": {"selectedButtonId": "yes",
                                                                    "selectedDisplayText": "Sim"}}))

    assert (message.type, message.content, message.content_attributes["reply"]) == (
        "INTERACTIVE", "Sim", {"id": "yes", "title": "Sim"})


def test_an_unknown_kind_is_kept_as_unsupported_and_protocol_traffic_is_no_message():
    poll = incoming_message(_message({"pollCreationMessageV3": {"name": "?"}}))

    assert (poll.type, poll.content) == ("SYSTEM", "[Unsupported message]")
    assert incoming_message(_message({"protocolMessage": {"type": 0}})) is None
    assert incoming_message(_message({"senderKeyDistributionMessage": {}, "messageContextInfo": {}})) is None


def test_a_message_without_chat_or_id_is_unreadable():
    with pytest.raises(ValueError):
        incoming_message({"key": {"fromMe": False}, "message": {"conversation": "x"}})


@pytest.mark.parametrize("value,expected", [
    (1750000600, 1750000600), ("1717689097", 1717689097), ({"low": 1750000600, "high": 0, "unsigned": False},
                                                         1750000600),
    ({"low": 0, "high": 1, "unsigned": True}, 1 << 32), ({"low": -1, "high": -1, "unsigned": False}, -1),
    (None, None), (True, None),
])
def test_numbers_come_plain_as_strings_or_as_protobuf_longs(value, expected):
    assert long_value(value) == expected
