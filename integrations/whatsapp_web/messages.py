"""A WhatsApp Web message (Baileys' WAMessage) as the inbox's IncomingMessage.

    {"key": {"remoteJid", "remoteJidAlt", "fromMe", "id", "participant", "participantAlt",
             "addressingMode"},
     "message": {"conversation" | "extendedTextMessage" | "imageMessage" | ...},
     "messageTimestamp": seconds (or a protobuf Long: {"low", "high", "unsigned"}),
     "pushName": the sender's own name for themselves}

Who the contact is comes from the chat (`remoteJid`): a person (their phone's digits when
known, their @lid as an alias: see `jids`) or a group (the group itself, each message naming its
author in content_attributes["author"]). A message the channel's own account sent from the
paired phone (`fromMe`) is the business's, never the contact's.

Media are described, not downloaded: content_attributes["media"] carries the message's id, its
type, and what a download needs (`download`: the key and the media fields WhatsApp encrypted
it with, kept as they came: their byte and number encodings vary by gateway and version, and
only the gateway that downloads reads them)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from conversations.incoming import IncomingMessage
from integrations.whatsapp_web.jids import contact_address, jid_parse, phone_of

# The content kinds, in the order a message is read when it has several keys.
_TEXT = ("conversation", "extendedTextMessage")
_MEDIA = {"imageMessage": "IMAGE", "videoMessage": "VIDEO", "ptvMessage": "VIDEO", "audioMessage": "AUDIO",
          "documentMessage": "DOCUMENT", "stickerMessage": "STICKER"}
_LOCATION = ("locationMessage", "liveLocationMessage")
_CONTACTS = ("contactMessage", "contactsArrayMessage")
_REPLIES = ("buttonsResponseMessage", "listResponseMessage", "templateButtonReplyMessage")
_REACTION = "reactionMessage"
# Envelopes around the real content: {"<wrapper>": {"message": {...}}}.
_WRAPPERS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
             "documentWithCaptionMessage", "editedMessage")
# What is no message of anyone's: protocol traffic (revokes, edits, key distribution, pins,
# poll votes...), and what accompanies content without being content.
_NOT_CONTENT = frozenset({"messageContextInfo", "senderKeyDistributionMessage", "fastRatchetKeySenderKeyDistributionMessage",
                          "protocolMessage", "pollUpdateMessage", "keepInChatMessage", "pinInChatMessage",
                          "encReactionMessage", "encEventResponseMessage", "messageHistoryBundle", "deviceSentMessage"})
# The fields of a media message a download needs (the rest, thumbnails included, is left out).
_DOWNLOAD_FIELDS = ("url", "directPath", "mediaKey", "mimetype", "fileEncSha256", "fileSha256", "fileLength",
                    "mediaKeyTimestamp")
_VCARD_PHONE = re.compile(r"^(?:item\d+\.)?TEL(?P<params>[^:]*):(?P<number>.+)$", re.IGNORECASE | re.MULTILINE)


def long_value(value: object) -> int | None:
    """An integer as WhatsApp Web JSON carries it: a number, a numeric string, or a protobuf
    Long ({"low", "high", "unsigned"})."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    low, high = (value.get("low"), value.get("high")) if isinstance(value, Mapping) else (None, None)
    if isinstance(low, int) and isinstance(high, int) and isinstance(value, Mapping):
        number = ((high & 0xFFFFFFFF) << 32) | (low & 0xFFFFFFFF)
        if not value.get("unsigned") and number >= 1 << 63:
            number -= 1 << 64
        return number
    return None


def _moment(value: object) -> dt.datetime | None:
    seconds = long_value(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def message_content(message: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(kind, body) of a WAMessage's `message`, unwrapped (ephemeral, view-once, captioned
    documents): kind is its key ("imageMessage"...), "" when it holds no content at all. A
    plain `conversation` is returned as {"text": ...}."""
    content: Mapping[str, Any] = message
    for _ in range(4):  # wrappers nest (a view-once message inside an ephemeral one)
        wrapper = next((key for key in _WRAPPERS if isinstance(content.get(key), Mapping)), None)
        if wrapper is None:
            break
        content = _dict(content[wrapper].get("message"))
    for kind in (*_TEXT, *_MEDIA, *_LOCATION, *_CONTACTS, *_REPLIES, _REACTION):
        value = content.get(kind)
        if kind == "conversation" and isinstance(value, str):
            return kind, {"text": value}
        if isinstance(value, Mapping):
            return kind, dict(value)
    unknown = [key for key, value in content.items() if key not in _NOT_CONTENT and isinstance(value, Mapping)]
    return (unknown[0], _dict(content[unknown[0]])) if unknown else ("", {})


def incoming_message(raw: Mapping[str, Any], *, group_subject: str = "") -> IncomingMessage | None:
    """The IncomingMessage a WAMessage is, or None when it is nobody's message to the inbox (a
    status update, a channel's post, protocol traffic). Raises ValueError when it has no
    chat or no id."""
    key = _dict(raw.get("key"))
    message_id = _text(key.get("id"))
    chat = jid_parse(key.get("remoteJid"))
    if not message_id or chat is None:
        raise ValueError("a WhatsApp message without its chat or id")
    from_me = key.get("fromMe") is True
    address = contact_address(key.get("remoteJid"), key.get("remoteJidAlt"), key.get("senderPn"),
                              key.get("senderLid"))
    if address is None:
        return None
    kind, body = message_content(_dict(raw.get("message")))
    if not kind:
        return None
    push_name = _text(raw.get("pushName")).strip()
    attributes: dict[str, Any] = {"whatsapp_type": kind}
    message_type, content = _read(kind, body, key, attributes)
    # The context (a reply, a forward) sits in the content; some gateways lift it next to it.
    context = _dict(body.get("contextInfo")) or _dict(raw.get("contextInfo"))
    if context.get("isForwarded"):
        attributes["forwarded"] = True
    if chat.is_group and not from_me:
        author = phone_of(key.get("participantAlt"), key.get("participantPn"), key.get("participant"),
                          raw.get("participant"))
        attributes["author"] = {"name": push_name, "phone": f"+{author}" if author else ""}
    contact_name = group_subject if chat.is_group else ("" if from_me else push_name)
    return IncomingMessage(
        provider_message_id=message_id, contact_external_id=address.external_id, contact_name=contact_name,
        contact_phone=address.phone, type=message_type, content=content, content_attributes=attributes,
        sent_at=_moment(raw.get("messageTimestamp")), reply_to_provider_id=_text(context.get("stanzaId")) or None,
        from_me=from_me, contact_aliases=address.aliases,
    )


def _read(kind: str, body: dict[str, Any], key: Mapping[str, Any], attributes: dict[str, Any]) -> tuple[str, str]:
    """(message type, content) of one content kind, completing `attributes`."""
    if kind == "conversation":
        return "TEXT", _text(body.get("text"))
    if kind == "extendedTextMessage":
        return "TEXT", _text(body.get("text"))
    if kind in _MEDIA:
        attributes["media"] = _media(kind, body, key)
        return _MEDIA[kind], _text(body.get("caption"))
    if kind in _LOCATION:
        location = {"latitude": body.get("degreesLatitude"), "longitude": body.get("degreesLongitude"),
                    "name": _text(body.get("name")), "address": _text(body.get("address")) or _text(body.get("caption")),
                    "url": _text(body.get("url"))}
        attributes["location"] = {name: value for name, value in location.items() if value not in (None, "")}
        return "LOCATION", " · ".join(part for part in (location["name"], location["address"]) if part)
    if kind in _CONTACTS:
        cards = [body] if kind == "contactMessage" else [_dict(card) for card in body.get("contacts") or []]
        attributes["contacts"] = [_contact_card(card) for card in cards]
        names = [card["name"]["formatted_name"] for card in attributes["contacts"] if card["name"]["formatted_name"]]
        return "CONTACT", ", ".join(names) or _text(body.get("displayName"))
    if kind in _REPLIES:
        reply = _reply(kind, body)
        attributes["reply"] = reply
        return "INTERACTIVE", reply["title"]
    if kind == _REACTION:
        emoji = _text(body.get("text"))
        attributes["reaction"] = {"message_id": _text(_dict(body.get("key")).get("id")), "emoji": emoji,
                                  "removed": not emoji}
        return "REACTION", emoji
    attributes["unsupported"] = [{"title": f"unsupported type {kind}"}]
    return "SYSTEM", "[Unsupported message]"


def _media(kind: str, body: Mapping[str, Any], key: Mapping[str, Any]) -> dict[str, Any]:
    media: dict[str, Any] = {"id": key.get("id"), "mime_type": _text(body.get("mimetype"))}
    if kind == "documentMessage":
        media["filename"] = _text(body.get("fileName")) or _text(body.get("title"))
    if kind == "audioMessage":
        media["voice"] = body.get("ptt") is True
    if kind == "stickerMessage":
        media["animated"] = body.get("isAnimated") is True
    if kind == "videoMessage" and body.get("gifPlayback") is True:
        media["animated"] = True
    size = long_value(body.get("fileLength"))
    if size is not None:
        media["size"] = size
    download_key = {name: key[name] for name in ("remoteJid", "fromMe", "id", "participant") if name in key}
    media["download"] = {"key": download_key,
                         "message": {kind: {name: body[name] for name in _DOWNLOAD_FIELDS if name in body}}}
    return media


def _contact_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """A shared contact as the inbox shows contact cards: its name and phones (from its vCard)."""
    vcard = _text(card.get("vcard"))
    phones = []
    for found in _VCARD_PHONE.finditer(vcard):
        waid = re.search(r"waid=(\d+)", found.group("params"), re.IGNORECASE)
        phone: dict[str, str] = {"phone": found.group("number").strip()}
        if waid:
            phone["wa_id"] = waid.group(1)
        phones.append(phone)
    name = _text(card.get("displayName"))
    if not name:
        full_name = re.search(r"^FN:(.+)$", vcard, re.MULTILINE)
        name = full_name.group(1).strip() if full_name else ""
    return {"name": {"formatted_name": name}, "phones": phones, "vcard": vcard}


def _reply(kind: str, body: Mapping[str, Any]) -> dict[str, str]:
    """A tap on a button or a list row: what was tapped (id, title)."""
    if kind == "buttonsResponseMessage":
        return {"id": _text(body.get("selectedButtonId")), "title": _text(body.get("selectedDisplayText"))}
    if kind == "listResponseMessage":
        return {"id": _text(_dict(body.get("singleSelectReply")).get("selectedRowId")),
                "title": _text(body.get("title"))}
    return {"id": _text(body.get("selectedId")), "title": _text(body.get("selectedDisplayText"))}
