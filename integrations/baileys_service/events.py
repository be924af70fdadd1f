"""The webhooks a connection service posts: their signature and their envelope, read into
the adapter contract's shapes (the WhatsApp Web messages inside by integrations.whatsapp_web).

    POST <the channel's webhook URL>
    X-Webhook-Signature: <hex HMAC-SHA256 of the raw body with the channel's webhook secret>
    {"event": "<name>", "tenantId": "<the channel's session id>", "data": {...}}
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext as _

from channels_app.models import Channel
from conversations.incoming import IncomingMessage, IncomingStatus
from integrations.base import AccountUpdates, ConnectionUpdate, IncomingDeletion, WebhookBatch, WebhookRejected
from integrations.whatsapp_web.messages import incoming_message

SIGNATURE_HEADER = "X-Webhook-Signature"
SIGNATURE_PREFIX = "sha256="

MESSAGE_EVENTS = frozenset({"message"})
STATUS_EVENTS = frozenset({"message.status", "messages.update"})
QR_EVENTS = frozenset({"qr"})
CONNECTION_EVENTS = frozenset({"connection", "status"})

# Baileys' WAMessageStatus (WAProto WebMessageInfo.Status), by number and by name; PENDING (1)
# says nothing the inbox does not know already.
_STATUS_NAMES = {0: "ERROR", 1: "PENDING", 2: "SERVER_ACK", 3: "DELIVERY_ACK", 4: "READ", 5: "PLAYED"}
_STATUSES = {"SERVER_ACK": "SENT", "DELIVERY_ACK": "DELIVERED", "READ": "READ", "PLAYED": "READ", "ERROR": "FAILED"}
STATUS_ERROR_CODE = "ERROR"
STATUS_ERROR_MESSAGE = "WhatsApp reported an error for this message: it was not delivered."

# The service's words for its link to the phone (the "connection"/"status" events and the
# status call), as the channel's status.
CONNECTED, CONNECTING, DISCONNECTED, LOGGED_OUT = "connected", "connecting", "disconnected", "logged_out"


def signature_for(body: bytes, secret: str) -> str:
    """The X-Webhook-Signature of a body: hex HMAC-SHA256 with the channel's webhook secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_verify(*, body: bytes, headers: Mapping[str, str], secret: str) -> str:
    """The signature, if it proves the service sent this body (with or without "sha256=")."""
    given = headers.get(SIGNATURE_HEADER, "").strip()
    digest = given[len(SIGNATURE_PREFIX):] if given.lower().startswith(SIGNATURE_PREFIX) else given
    if not secret or not digest or not hmac.compare_digest(digest.lower().encode(),
                                                           signature_for(body, secret).encode()):
        raise WebhookRejected(f"missing or wrong {SIGNATURE_HEADER}")
    return given


def qr_fields(value: object) -> dict[str, str]:
    """A QR code as the service gives it: its own PNG (a data: URL) or the code's text, which we
    draw ourselves."""
    if not isinstance(value, str) or not value.strip():
        return {}
    value = value.strip()
    return {"qr_image": value} if value.startswith("data:image/") else {"qr_code": value}


def phone_from(value: object) -> str:
    """"+<digits>" of the number the service names ("5511...", "+55 11 ...", a JID), or ""."""
    if not isinstance(value, str):
        return ""
    digits = "".join(ch for ch in value.split("@", 1)[0].split(":", 1)[0] if ch.isdigit())
    return f"+{digits}" if digits else ""


def connection_update(data: Mapping[str, Any]) -> ConnectionUpdate:
    """The link's state from {status, connected?, phoneNumber?, qrCode?} (an event's data, or
    the status call's answer)."""
    status = str(data.get("status") or "").strip().lower()
    phone = phone_from(data.get("phoneNumber"))
    qr = qr_fields(data.get("qrCode"))
    if data.get("connected") is True or status in (CONNECTED, "open", "ready"):
        return ConnectionUpdate(status=Channel.Status.CONNECTED, phone=phone)
    if status == LOGGED_OUT:
        return ConnectionUpdate(status=Channel.Status.DISCONNECTED, detail=_("Logged out on the phone: pair it again."))
    if qr:
        return ConnectionUpdate(status=Channel.Status.QR_PENDING, **qr)
    if status in (CONNECTING, "qr", "qr_pending", "starting", "initializing"):
        return ConnectionUpdate(status=Channel.Status.CONNECTING)
    return ConnectionUpdate(status=Channel.Status.DISCONNECTED, detail=_("The phone is not connected."))


def _items(data: object, *, key: str) -> Iterator[Mapping[str, Any]]:
    """The items of an event's data: one object, a list of them, or {key: [...]} (Baileys'
    own event shapes)."""
    if isinstance(data, list):
        yield from (item for item in data if isinstance(item, Mapping))
    elif isinstance(data, Mapping):
        if isinstance(data.get(key), list):
            yield from (item for item in data[key] if isinstance(item, Mapping))
        else:
            yield data


def _status(update: Mapping[str, Any]) -> IncomingStatus | None:
    """One Baileys message update ({key, update: {status}}) as the status of a message we sent,
    or None (an update of another kind, or of a message the contact sent)."""
    key: Mapping[str, Any] = update["key"] if isinstance(update.get("key"), Mapping) else {}
    change: Mapping[str, Any] = update["update"] if isinstance(update.get("update"), Mapping) else update
    raw = change.get("status")
    name = _STATUS_NAMES.get(raw) if isinstance(raw, int) and not isinstance(raw, bool) else (
        str(raw).upper() if isinstance(raw, str) else None)
    status = _STATUSES.get(name or "")
    message_id = key.get("id") or update.get("keyId")
    if status is None or not isinstance(message_id, str) or not message_id:
        return None
    if key.get("fromMe", update.get("fromMe")) is False:  # a receipt of the contact's message
        return None
    failed = status == "FAILED"
    return IncomingStatus(provider_message_id=message_id, status=status,
                          error_code=STATUS_ERROR_CODE if failed else "",
                          error_message=STATUS_ERROR_MESSAGE if failed else "")


# Baileys' WAMessageStubType.REVOKE (WAProto WebMessageInfo.StubType): a message its sender
# deleted for everyone, by number or by name.
_REVOKE = (1, "REVOKE")


def _deletion(update: Mapping[str, Any]) -> IncomingDeletion | None:
    """One Baileys message update that says its message was deleted for everyone ({key, update:
    {message: null, messageStubType: REVOKE}}: Baileys' process-message.ts), or None."""
    key: Mapping[str, Any] = update["key"] if isinstance(update.get("key"), Mapping) else {}
    change = update.get("update")
    if not isinstance(change, Mapping) or "status" in change:
        return None
    revoked = change.get("messageStubType") in _REVOKE or ("message" in change and change["message"] is None)
    message_id = key.get("id")
    return IncomingDeletion(provider_message_id=message_id) if revoked and isinstance(message_id, str) and (
        message_id) else None


def webhook_parse(body: bytes) -> WebhookBatch:
    """A verified body as what it says, for the session it names (its `account`). Raises
    ValueError when it is no envelope of the service."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise ValueError("not a connection service event ({event, tenantId, data})")
    event, data = payload["event"], payload.get("data")
    account = str(payload.get("tenantId") or "")
    if event in MESSAGE_EVENTS:
        messages: list[IncomingMessage] = []
        for raw in _items(data, key="messages"):
            message = incoming_message(raw)
            if message is not None:
                messages.append(message)
        return WebhookBatch(updates=(AccountUpdates(account=account, messages=tuple(messages)),))
    if event in STATUS_EVENTS:
        items = list(_items(data, key="updates"))
        statuses = [status for item in items if (status := _status(item)) is not None]
        deletions = [deletion for item in items if (deletion := _deletion(item)) is not None]
        return WebhookBatch(updates=(AccountUpdates(account=account, statuses=tuple(statuses),
                                                    deletions=tuple(deletions)),))
    if event in QR_EVENTS or event in CONNECTION_EVENTS:
        if not isinstance(data, Mapping):
            raise ValueError(f"a {event} event without its data")
        if event in QR_EVENTS:
            qr = qr_fields(data.get("qrCode") or data.get("qr"))
            if not qr:
                raise ValueError("a qr event without its qrCode")
            update = ConnectionUpdate(status=Channel.Status.QR_PENDING, **qr)
        else:
            update = connection_update(data)
        return WebhookBatch(updates=(AccountUpdates(account=account, connection=update),))
    return WebhookBatch(errors=(f"event {event[:60]!r} ignored",))
