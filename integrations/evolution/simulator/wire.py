"""Evolution API v2's wire format, as the simulator speaks it: its error bodies, its webhook
envelope and the shapes of the messages it posts and answers (those of v2.3.6, as in
tests/fixtures/evolution/)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
from typing import Any

_JSON = "application/json; charset=utf-8"
# (HTTP status, body, content type): what an endpoint answers.
Response = tuple[int, bytes, str]

# A 1x1 PNG: the simulator's picture of every QR code (the inbox draws its own from `code`).
QR_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
          "RU5ErkJggg==")
TINY_PNG = base64.b64decode(QR_PNG.partition(",")[2])
# Evolution 2.4's answer to every business endpoint until the server's licence is activated.
LICENSE_REQUIRED_BODY = {
    "error": "service not activated", "code": "LICENSE_REQUIRED",
    "register_url": "http://127.0.0.1:8082/manager/login", "instance_id": "simulator",
    "docs_url": "https://docs.evolutionfoundation.com.br/licensing",
    "message": "This Evolution API instance is not activated. Open http://127.0.0.1:8082/manager/login to activate, "
               "or set AUTHENTICATION_API_KEY in your .env with a valid licensing key.",
}
# The event names a webhook may be set to (EventController.events of v2.3.6, which
# webhook.schema.ts and instance.schema.ts take as the only ones): others are refused with a 400.
WEBHOOK_EVENTS = frozenset({
    "APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED", "MESSAGES_UPDATE",
    "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET", "CONTACTS_UPSERT", "CONTACTS_UPDATE",
    "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT", "CHATS_UPDATE", "CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE", "CONNECTION_UPDATE", "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE", "LOGOUT_INSTANCE", "INSTANCE_CREATE", "INSTANCE_DELETE",
    "STATUS_INSTANCE",
})
MEDIA_MESSAGES = {"image": "imageMessage", "video": "videoMessage", "audio": "audioMessage",
                  "document": "documentMessage"}


class SimulatorError(ValueError):
    """A simulator that cannot do what it was asked (an unknown instance, bad options)."""


def json_response(status: int, body: Any) -> Response:
    return status, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), _JSON


def error_body(status: int, message: Any) -> dict[str, Any]:
    """Evolution's error envelope ({status, error, response: {message}})."""
    names = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}
    return {"status": status, "error": names.get(status, "Error"), "response": {"message": message}}


def error(status: int, *messages: Any) -> Response:
    if status == 401:
        return json_response(401, error_body(401, "Unauthorized"))
    return json_response(status, error_body(status, list(messages)))


def digits(value: Any) -> str:
    return re.sub(r"\D", "", value) if isinstance(value, str) else ""


def phone_jid(number: str) -> str:
    return f"{digits(number)}@s.whatsapp.net"


def chat_jid(number: str) -> str:
    """A send's `number` as Evolution addresses it: a JID given as one, else a phone's."""
    return number if "@" in number else phone_jid(number)


def new_message_id(prefix: str = "3EB0") -> str:
    """An id shaped like WhatsApp Web's (3EB0 + hex: sent by a web client)."""
    return prefix + secrets.token_hex(9).upper()


def new_qr_code() -> str:
    return "2@" + ",".join(secrets.token_urlsafe(32) for _ in range(4))


def new_pairing_code() -> str:
    return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTVWXYZ0123456789") for _ in range(8))


def local_time_z() -> str:
    """Evolution's date_time: the server's local time, written with a Z all the same."""
    return dt.datetime.now().isoformat(timespec="milliseconds") + "Z"


def long_of(value: int) -> dict[str, Any]:
    """A 64-bit number as Evolution 2.3.6 serialises Baileys' Long."""
    return {"low": value & 0xFFFFFFFF, "high": value >> 32, "unsigned": True}


def bytes_of(data: bytes) -> dict[str, int]:
    """Bytes as Evolution 2.3.6 serialises protobuf bytes ({"0": n, ...})."""
    return {str(index): value for index, value in enumerate(data)}


def media_fields(media_id: str, mime_type: str, size: int) -> dict[str, Any]:
    """What WhatsApp's media messages carry to download the file (opaque to the inbox)."""
    path = f"/o1/v/t62.7118-24/f2/m231/SIM-{media_id}?ccb=9-4&oh=SIM&oe=SIM&_nc_sid=e6ed6c"
    return {"url": f"https://mmg.whatsapp.net{path}&mms3=true", "mimetype": mime_type,
            "fileSha256": bytes_of(secrets.token_bytes(4)), "fileLength": long_of(size),
            "mediaKey": bytes_of(secrets.token_bytes(4)), "fileEncSha256": bytes_of(secrets.token_bytes(4)),
            "directPath": path, "mediaKeyTimestamp": {"low": int(dt.datetime.now().timestamp()), "high": 0,
                                                      "unsigned": False}}


def media_id_in(message: Any) -> str:
    """The simulator's media id in a media message's fields (its URL names it)."""
    text = json.dumps(message) if message is not None else ""
    found = re.search(r"SIM-([A-Za-z0-9]+)", text)
    return found.group(1) if found else ""
