"""Evolution API's webhooks, read: the envelope {event, instance, data, destination, date_time,
sender, server_url, apikey}, and what each event we subscribe to says, in the adapter
contract's words. The WhatsApp message inside messages.upsert is read by the shared
WhatsApp Web parser (integrations.whatsapp_web)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from channels_app.models import Channel
from conversations.incoming import IncomingMessage, IncomingStatus
from integrations.base import (
    AccountUpdates,
    ConnectionUpdate,
    ContactUpdate,
    IncomingDeletion,
    IncomingPresence,
    WebhookBatch,
)
from integrations.whatsapp_web.jids import contact_address, jid_parse, phone_of
from integrations.whatsapp_web.messages import incoming_message

# The events the channel's webhook is set to (Evolution's names for them in its settings).
# GROUP_UPDATE is the name Evolution 2.3.6 accepts for groups.update, and then never matches
# (it posts only events whose name, upper-cased, is subscribed: GROUPS_UPDATE, which its webhook
# settings refuse): a group's new subject arrives if a later version matches them up.
SUBSCRIBED = ("QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_DELETE",
              "SEND_MESSAGE", "CONTACTS_UPSERT", "CONTACTS_UPDATE", "GROUPS_UPSERT", "GROUP_UPDATE", "PRESENCE_UPDATE")
# Baileys' WAPresence, in the inbox's words (paused, available, unavailable: nothing to show).
PRESENCES = {"composing": IncomingPresence.TYPING, "recording": IncomingPresence.RECORDING}
# Receipts (Baileys' WAMessageStatus by name). PENDING says nothing yet; DELETED is a revoke.
RECEIPTS = {"SERVER_ACK": "SENT", "DELIVERY_ACK": "DELIVERED", "READ": "READ", "PLAYED": "READ", "ERROR": "FAILED"}
# Why the link to the phone closed (Baileys' DisconnectReason): what the admin reads.
CLOSE_REASONS = {
    401: "Logged out on the phone: pair the number again.",
    402: "WhatsApp closed the session (payment required): pair the number again.",
    403: "WhatsApp refused this number's session (it may be banned or restricted).",
    406: "WhatsApp closed the session: pair the number again.",
    408: "The connection to WhatsApp was lost.",
    411: "The phone's WhatsApp version does not support linked devices: update it.",
    428: "The connection to WhatsApp was closed.",
    440: "The session was replaced by another connection of the same number.",
    500: "The session is no longer valid: pair the number again.",
    503: "WhatsApp is unavailable.",
    515: "WhatsApp asked for a restart of the session.",
}
# A media file the webhook carried itself ("base64" webhooks) is kept with its message only
# when small (a sticker, a short voice note): the message's attributes are stored and served
# with it, and bigger files are fetched from the server instead.
INLINE_MEDIA_MAX_BYTES = 48 * 1024


def webhook_batch(body: bytes) -> WebhookBatch:
    """The updates of one webhook body; ValueError when it is no Evolution API webhook."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise ValueError("not an Evolution API webhook")
    # "messages.upsert" (webhooks) or "MESSAGES_UPSERT" (how its settings name events).
    event = payload["event"].strip().lower().replace("_", ".")
    data = payload.get("data")
    if event == "messages.upsert":
        messages = tuple(message for item in _items(data) if (message := _message(item)) is not None)
        return _batch(messages=messages)
    if event == "messages.update":
        return _batch(statuses=tuple(status for item in _items(data) if (status := _receipt(item)) is not None))
    if event == "qrcode.updated":
        return _batch(connection=_qr_code(data))
    if event == "connection.update":
        return _batch(connection=_connection(data, sender=payload.get("sender")))
    if event == "presence.update":
        return _batch(presence=tuple(presence for item in _items(data) if (presence := _presence(item)) is not None))
    if event == "messages.delete":
        return _batch(deletions=tuple(deletion for item in _items(data) if (deletion := _deletion(item)) is not None))
    if event in ("contacts.update", "contacts.upsert"):
        return _batch(contacts=tuple(update for item in _items(data) if (update := _contact(item)) is not None))
    if event in ("groups.upsert", "groups.update"):
        return _batch(contacts=tuple(update for item in _items(data) if (update := group_update(item)) is not None))
    # send.message: a message the API sent, ours (the same id our send got back, already
    # recorded by the sender) or another client's of the same instance. Read as a message it
    # could arrive before our sender records the id, and become a second copy of the reply
    # (the sender would then fail on the id). It is kept with the stored webhook, and ignored.
    # Other events are not ours.
    return WebhookBatch()


def _batch(*, messages: tuple[IncomingMessage, ...] = (), statuses: tuple[IncomingStatus, ...] = (),
           connection: ConnectionUpdate | None = None, contacts: tuple[ContactUpdate, ...] = (),
           deletions: tuple[IncomingDeletion, ...] = (), presence: tuple[IncomingPresence, ...] = ()) -> WebhookBatch:
    if not (messages or statuses or connection or contacts or deletions or presence):
        return WebhookBatch()
    return WebhookBatch(updates=(AccountUpdates(account="", messages=messages, statuses=statuses, connection=connection,
                                                contacts=contacts, deletions=deletions, presence=presence),))


def _items(data: Any) -> Iterable[dict[str, Any]]:
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    raise ValueError("an event without its data")


def _message(data: dict[str, Any]) -> IncomingMessage | None:
    message = incoming_message(data)
    if message is None or "media" not in message.content_attributes:
        return message
    inline = (data.get("message") or {}).get("base64")
    if not isinstance(inline, str) or len(inline) > INLINE_MEDIA_MAX_BYTES * 4 // 3 + 4:
        return message
    try:
        base64.b64decode(inline, validate=True)
    except (binascii.Error, ValueError):
        return message
    attributes = dict(message.content_attributes)
    attributes["media"] = {**attributes["media"], "base64": inline}
    return dataclasses.replace(message, content_attributes=attributes)


def found_messages(answer: Any) -> tuple[list[IncomingMessage], int]:
    """POST /chat/findMessages' answer, {messages: {total, pages, currentPage, records}}: the
    records (WhatsApp Web messages as Evolution's database keeps them) that are messages to the
    inbox, and how many pages there are."""
    found = answer.get("messages") if isinstance(answer, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("records"), list):
        raise ValueError("not an answer of findMessages")
    pages = found.get("pages")
    messages = []
    for record in found["records"]:
        try:
            message = _message(record) if isinstance(record, dict) else None
        except ValueError:  # a record without its chat or id: not a message to keep
            message = None
        if message is not None:
            messages.append(message)
    return messages, pages if isinstance(pages, int) else 1


def _presence(data: dict[str, Any]) -> IncomingPresence | None:
    """presence.update: Baileys' {id: the chat, presences: {participant: {lastKnownPresence}}}.
    In a group, anyone typing makes the group's thread show it."""
    address = contact_address(data.get("id"))
    presences = data.get("presences")
    if address is None or not isinstance(presences, dict):
        return None
    said = [PRESENCES.get(str(item.get("lastKnownPresence") or ""), IncomingPresence.IDLE)
            for item in presences.values() if isinstance(item, dict)]
    if not said:
        return None
    state = next((state for state in (IncomingPresence.RECORDING, IncomingPresence.TYPING) if state in said),
                 IncomingPresence.IDLE)
    return IncomingPresence(contact_external_id=address.external_id, contact_aliases=address.aliases, state=state)


def _deletion(data: dict[str, Any]) -> IncomingDeletion | None:
    """messages.delete: the deleted message's key ({remoteJid, fromMe, id, participant}) when its
    sender deleted it for everyone; when the instance's API deleted it, Evolution's stored
    message ({id: its database id, key: {...}, status: "DELETED", ...})."""
    stored_key = data.get("key")
    message_id = (stored_key if isinstance(stored_key, dict) else data).get("id")
    return IncomingDeletion(provider_message_id=message_id) if isinstance(message_id, str) and message_id else None


def _contact(data: dict[str, Any]) -> ContactUpdate | None:
    """contacts.update / contacts.upsert: {remoteJid, pushName, profilePicUrl, instanceId}. Evolution
    posts one for a group's chat after each of its messages with the author's pushName (not the
    group's): a group takes only its picture from here. Without a name, Evolution writes the
    number in pushName (contacts.upsert): that is no name. profilePicUrl is null as often when
    the picture could not be read as when there is none: null says nothing."""
    jid = jid_parse(data.get("remoteJid"))
    address = contact_address(data.get("remoteJid"))
    if jid is None or address is None:
        return None
    name = data.get("pushName") if not jid.is_group else None
    if not isinstance(name, str) or not name.strip() or name.strip() in (jid.user, address.external_id):
        name = None
    picture = data.get("profilePicUrl")
    update = ContactUpdate(external_id=address.external_id, aliases=address.aliases, name=name,
                           picture_url=picture if isinstance(picture, str) and picture else None)
    return update if update.name is not None or update.picture_url is not None else None


def group_update(data: dict[str, Any]) -> ContactUpdate | None:
    """groups.upsert / groups.update: Baileys' GroupMetadata (or the part of it that changed),
    and /group/findGroupInfos's answer (the same, with its `pictureUrl`): the subject is the
    group's name."""
    jid = jid_parse(data.get("id"))
    subject, picture = data.get("subject"), data.get("pictureUrl")
    if jid is None or not jid.is_group:
        return None
    update = ContactUpdate(external_id=str(jid), name=subject if isinstance(subject, str) and subject.strip() else None,
                           picture_url=picture if isinstance(picture, str) and picture else None)
    return update if update.name is not None or update.picture_url is not None else None


def _receipt(data: dict[str, Any]) -> IncomingStatus | None:
    """A receipt of a message the channel sent; those of the contacts' messages (read on the
    phone) say nothing the inbox tracks."""
    message_id = data.get("keyId") or (data.get("key") or {}).get("id")
    status = RECEIPTS.get(str(data.get("status") or "").upper())
    from_me = data.get("fromMe", (data.get("key") or {}).get("fromMe"))
    if not isinstance(message_id, str) or not message_id or status is None or from_me is not True:
        return None
    if status == "FAILED":
        return IncomingStatus(provider_message_id=message_id, status=status, error_code="delivery_error",
                              error_message="WhatsApp reported an error delivering this message.")
    return IncomingStatus(provider_message_id=message_id, status=status)


def _qr_code(data: Any) -> ConnectionUpdate:
    data = data if isinstance(data, dict) else {}
    qrcode = data.get("qrcode")
    if isinstance(qrcode, dict) and (qrcode.get("code") or qrcode.get("pairingCode")):
        return ConnectionUpdate(status=Channel.Status.QR_PENDING, qr_code=str(qrcode.get("code") or ""),
                                qr_image=_data_url(qrcode.get("base64")),
                                pairing_code=str(qrcode.get("pairingCode") or ""))
    # The QR codes ran out unscanned ({"message": "QR code limit reached...", "statusCode": 500}).
    return ConnectionUpdate(status=Channel.Status.ERROR,
                            detail="No QR code was scanned in time: start the pairing again.")


def _connection(data: Any, *, sender: Any) -> ConnectionUpdate | None:
    data = data if isinstance(data, dict) else {}
    state = str(data.get("state") or "").lower()
    if state == "open":
        phone = phone_of(data.get("wuid"), sender)
        return ConnectionUpdate(status=Channel.Status.CONNECTED, phone=f"+{phone}" if phone else "")
    if state == "connecting":
        return ConnectionUpdate(status=Channel.Status.CONNECTING)
    if state == "refused":
        return ConnectionUpdate(status=Channel.Status.ERROR,
                                detail="No QR code was scanned in time: start the pairing again.")
    if state == "close":
        reason = data.get("statusReason")
        detail = CLOSE_REASONS.get(reason, f"The connection to WhatsApp closed ({reason}).") if isinstance(
            reason, int) else "The connection to WhatsApp closed."
        return ConnectionUpdate(status=Channel.Status.DISCONNECTED, detail=detail)
    return None


def _data_url(value: Any) -> str:
    """Evolution's own image of the QR code, when it is a PNG data: URL."""
    return value if isinstance(value, str) and value.startswith("data:image/png;base64,") else ""
