"""`EvolutionSimulator`: the HTTP server, its instances, and the webhooks it posts."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import http.client
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from integrations.simulators import FailureRules, HTTPSimulator

from .control import control_response
from .wire import (
    LICENSE_REQUIRED_BODY,
    MEDIA_MESSAGES,
    QR_PNG,
    TINY_PNG,
    WEBHOOK_EVENTS,
    Response,
    SimulatorError,
    chat_jid,
    digits,
    error,
    json_response,
    local_time_z,
    media_fields,
    media_id_in,
    new_message_id,
    new_pairing_code,
    new_qr_code,
    phone_jid,
)

logger = logging.getLogger(__name__)

DEFAULT_API_KEY = "SIMULATOR_GLOBAL_API_KEY"
DEFAULT_STATUS_PROGRESSION = ("DELIVERY_ACK", "READ")
QR_PAIRING = "WHATSAPP-BAILEYS"
# Meta's Cloud API driven by Evolution: its `token` (Meta's) becomes the instance's, `number` is
# the phone number id, and the instance is open from the start (no QR code).
CLOUD_API = "WHATSAPP-BUSINESS"
# What Evolution answers as the verify token of its own Meta webhook (WA_BUSINESS_TOKEN_WEBHOOK,
# "evolution" in its .env.example).
META_WEBHOOK_VERIFY_TOKEN = "evolution"
# Evolution gives a webhook up once it answers one of these (its default NON_RETRYABLE_STATUS_CODES).
NOT_RETRIED = frozenset({400, 401, 403, 404, 422})
# The messages an instance's database keeps (the oldest go): a sandbox runs for days.
MESSAGES_KEPT = 10_000


def _seconds(moment: Any) -> int:
    """A moment as Evolution's findMessages reads it (JavaScript's `new Date(value)`): an ISO
    8601 date or milliseconds since the epoch; whole seconds."""
    if isinstance(moment, int | float) and not isinstance(moment, bool):
        return int(moment // 1000)
    return int(dt.datetime.fromisoformat(str(moment).replace("Z", "+00:00")).timestamp())


def _refused_events(events: Any) -> Response | None:
    """Evolution's 400 for event names its webhook settings do not take (jsonschema's words)."""
    unknown = [(index, name) for index, name in enumerate(events or ()) if name not in WEBHOOK_EVENTS]
    if not unknown:
        return None
    return error(400, *(f"webhook.events[{index}] is not one of enum values: {', '.join(sorted(WEBHOOK_EVENTS))}"
                        for index, _name in unknown))


@dataclass
class SimulatedInstance:
    """One Evolution instance: a WhatsApp session of one number."""

    name: str
    token: str
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    integration: str = QR_PAIRING
    number: str = ""  # Cloud API mode: Meta's phone number id
    business_id: str = ""  # Cloud API mode: the WhatsApp Business Account id
    state: str = "close"  # connecting (waiting for a scan) | open (paired) | close
    phone: str = ""  # digits, once paired
    profile_name: str = "Inbox Test"
    qr_code: str = ""
    qr_count: int = 0
    pairing_code: str | None = None
    webhook: dict[str, Any] = field(default_factory=dict)  # url, headers, events, base64, byEvents, enabled
    settings: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # group JID → its GroupMetadata
    # The messages its database keeps (what /chat/findMessages lists): those it received and sent.
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wuid(self) -> str:
        return phone_jid(self.phone) if self.phone else ""

    def qrcode(self) -> dict[str, Any]:
        return {"pairingCode": self.pairing_code, "code": self.qr_code, "base64": QR_PNG, "count": self.qr_count}

    def public(self) -> dict[str, Any]:
        return {"instanceName": self.name, "instanceId": self.instance_id, "token": self.token, "state": self.state,
                "phone": self.phone, "webhook": self.webhook}


@dataclass
class FailureRule:
    status: int | None  # None: answered as usual, after the hang
    body: Any
    count: int | None = 1  # None: until cleared
    path: str = ""  # only requests whose path starts with it ("/message/sendText")
    hang_seconds: float = 0.0


@dataclass
class _Delivery:
    instance: str
    event: str
    data: Any
    attempt: int = 0


class EvolutionSimulator(HTTPSimulator):
    """An Evolution API v2 server on a local port, speaking the subset the inbox uses.

    Inspect `sent` (accepted sends), `requests` (every request) and `webhook_log` (every
    webhook attempt and what it got). Configure `status_progression`, `status_delay`,
    `webhook_retry_delays`, `keeps_messages` (False: Evolution's database keeps no messages, so
    media are found only from the message's own fields), `license_required` (Evolution 2.4's
    gate), `expose_apikey` (the instance token in every webhook, as
    AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES does) and `on_event`."""

    server_version = "EvolutionSimulator"
    max_body = 200 * 1024 * 1024
    thread_prefix = "evolution-sim"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str = DEFAULT_API_KEY,
                 status_progression: Iterable[str] = DEFAULT_STATUS_PROGRESSION, status_delay: float = 0.05,
                 webhook_retry_delays: Iterable[float] = (0.1, 0.5), webhook_timeout: float = 5.0,
                 log_limit: int = 100_000) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.status_progression = list(status_progression)
        self.status_delay = status_delay
        self.webhook_retry_delays = tuple(webhook_retry_delays)
        self.webhook_timeout = webhook_timeout
        self.keeps_messages = True
        self.license_required = False
        self.expose_apikey = False
        self.instances: dict[str, SimulatedInstance] = {}
        self.not_on_whatsapp: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self.webhook_log: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self.media: dict[str, tuple[bytes, str, str]] = {}  # message id → (bytes, MIME type, file name)
        self._failures: FailureRules[FailureRule] = FailureRules()
        self._lock = threading.RLock()
        # One thread posts every webhook, in order (Evolution posts an instance's events as they
        # happen); a failed one is retried later, the others go on meanwhile.
        self._webhooks = self._webhook_queue(self._deliver)

    # --- configuration ---

    def add_instance(self, name: str, *, token: str | None = None, webhook_url: str | None = None,
                     webhook_headers: Mapping[str, str] | None = None, state: str = "close", phone: str = "",
                     events: Iterable[str] | None = None, webhook_base64: bool = False) -> SimulatedInstance:
        """An instance that exists already (the sandbox's, a test's), paired when `state` is open."""
        instance = SimulatedInstance(name=name, token=token or str(uuid.uuid4()).upper(), state=state,
                                     phone=digits(phone))
        if webhook_url:
            instance.webhook = {"enabled": True, "url": webhook_url, "headers": dict(webhook_headers or {}),
                                "events": list(events or ()), "base64": webhook_base64, "byEvents": False}
        with self._lock:
            self.instances[name] = instance
        return instance

    def fail_next(self, status: int | None, body: Any = None, *, count: int | None = 1, path: str = "",
                  hang_seconds: float = 0.0) -> FailureRule:
        """The next `count` requests (under `path`, when given) are answered `status` with
        `body` (Evolution's error envelope when none is given), after stalling `hang_seconds`.
        A hang without a status then answers as usual (a send that timed out on the client's
        side was taken all the same)."""
        if count is not None and count < 1:
            raise SimulatorError("count must be at least 1 (or None: until cleared).")
        if status is None and not hang_seconds:
            raise SimulatorError("Give a status, hang_seconds, or both.")
        rule = FailureRule(status=status, body=body if body is not None or status is None else {
            "status": status, "error": "Error", "response": {"message": [f"Simulated HTTP {status}"]}},
            count=count, path=path, hang_seconds=hang_seconds)
        return self._failures.add(rule)

    def clear_failures(self) -> None:
        self._failures.clear()

    def reset(self, *, instances: bool = False) -> None:
        with self._lock:
            self.sent.clear()
            self.requests.clear()
            self.webhook_log.clear()
            self.media.clear()
            self._failures.clear()
            self.not_on_whatsapp.clear()
            self.license_required = False
            self.keeps_messages = True
            for instance in self.instances.values():
                instance.messages.clear()
            if instances:
                self.instances.clear()
        self._webhooks.clear()

    def instance(self, name: str) -> SimulatedInstance:
        found = self.instances.get(name)
        if found is None:
            raise SimulatorError(f"No instance {name!r}.")
        return found

    # --- the phone and WhatsApp, on demand ---

    def scan(self, name: str, phone: str = "15555550100", *, profile_name: str = "Inbox Test") -> None:
        """The QR code was scanned with the phone of `phone`: the instance is paired
        (connection.update open)."""
        instance = self.instance(name)
        with self._lock:
            instance.state, instance.phone, instance.profile_name = "open", digits(phone), profile_name
            instance.qr_code, instance.qr_count, instance.pairing_code = "", 0, None
        self.post_event(name, "connection.update", {
            "instance": name, "wuid": instance.wuid, "profileName": profile_name,
            "profilePictureUrl": None, "state": "open", "statusReason": 200})

    def refresh_qr(self, name: str) -> str:
        """WhatsApp's QR code changed (every ~20 s while it waits): qrcode.updated."""
        instance = self.instance(name)
        with self._lock:
            instance.state, instance.qr_code = "connecting", new_qr_code()
            instance.qr_count += 1
        self._post_qr(instance)
        return instance.qr_code

    def expire_qr(self, name: str) -> None:
        """No scan before Evolution's QR code limit: qrcode.updated with the error, then
        connection.update refused."""
        instance = self.instance(name)
        with self._lock:
            instance.state, instance.qr_code = "close", ""
        self.post_event(name, "qrcode.updated", {"message": "QR code limit reached, please login again",
                                                 "statusCode": 500})
        self.post_event(name, "connection.update", {"instance": name, "state": "refused", "statusReason": 428})

    def close(self, name: str, reason: int = 401) -> None:
        """The session closed (401: logged out on the phone, 440: replaced...)."""
        instance = self.instance(name)
        with self._lock:
            instance.state = "close"
        self.post_event(name, "connection.update", {"instance": name, "state": "close", "statusReason": reason})

    def inbound_text(self, name: str, from_number: str = "15555550123", text: str = "Hello", *,
                     push_name: str = "Maria", message_id: str | None = None, lid: str | None = None,
                     lid_addressed: bool = False, quoted_id: str | None = None, group: str | None = None,
                     from_me: bool = False, duplicate: bool = False, lost: bool = False,
                     timestamp: int | None = None) -> str:
        """A contact's text (webhook-messages-upsert-text.json's shape); `lid` gives their @lid
        (the chat is addressed by it with `lid_addressed`), `group` a group's JID (the contact
        writes in it), `quoted_id` the message it replies to, `from_me` sends it from the phone,
        `lost`: the server keeps it but its webhook never reaches the inbox (the inbox was away,
        Evolution gave up retrying); `timestamp`: when it was written (seconds; now by default)."""
        data = self.inbound_text_data(name, from_number, text, push_name=push_name, message_id=message_id, lid=lid,
                                      lid_addressed=lid_addressed, quoted_id=quoted_id, group=group, from_me=from_me,
                                      timestamp=timestamp)
        return self._post_upsert(name, data, duplicate=duplicate, lost=lost)

    def inbound_text_data(self, name: str, from_number: str = "15555550123", text: str = "Hello", *,
                          push_name: str = "Maria", message_id: str | None = None, lid: str | None = None,
                          lid_addressed: bool = False, quoted_id: str | None = None, group: str | None = None,
                          from_me: bool = False, timestamp: int | None = None) -> dict[str, Any]:
        """The messages.upsert `data` `inbound_text` posts, without posting it (see
        `webhook_request` for the whole request)."""
        data = self._upsert_data(name, from_number, push_name=push_name, message_id=message_id, lid=lid,
                                 lid_addressed=lid_addressed, group=group, from_me=from_me)
        if timestamp is not None:
            data["messageTimestamp"] = timestamp
        data["message"] = {"conversation": text}
        data["messageType"] = "conversation"
        if quoted_id:
            instance = self.instance(name)
            data["contextInfo"] = {"stanzaId": quoted_id, "participant": instance.wuid,
                                   "quotedMessage": {"conversation": ""}}
        return data

    def inbound_image(self, name: str, from_number: str = "15555550123", *, caption: str | None = None,
                      content: bytes | None = None, mime_type: str = "image/png", push_name: str = "Maria",
                      message_id: str | None = None, duplicate: bool = False, lost: bool = False) -> str:
        """A contact's photo (webhook-messages-upsert-image.json's shape), its bytes kept for
        /chat/getBase64FromMediaMessage (and in the webhook when the instance's is base64)."""
        data = self._upsert_data(name, from_number, push_name=push_name, message_id=message_id)
        message_id = data["key"]["id"]
        content = content if content is not None else TINY_PNG
        with self._lock:
            self.media[message_id] = (content, mime_type, f"{message_id}.{mime_type.split('/')[-1]}")
        image = media_fields(message_id, mime_type, len(content))
        if caption:
            image["caption"] = caption
        data["message"] = {"imageMessage": image, "messageContextInfo": {"deviceListMetadataVersion": 2}}
        data["messageType"] = "imageMessage"
        if self.instance(name).webhook.get("base64"):
            data["message"]["base64"] = base64.b64encode(content).decode()
        return self._post_upsert(name, data, duplicate=duplicate, lost=lost)

    def inbound_message(self, name: str, data: Mapping[str, Any], *, duplicate: bool = False,
                        lost: bool = False) -> str:
        """Any messages.upsert `data` (a fixture's, say), posted as it is; returns its key id."""
        return self._post_upsert(name, copy.deepcopy(dict(data)), duplicate=duplicate, lost=lost)

    def post_status(self, name: str, message_id: str, status: str, *, remote_jid: str = "15555550123@s.whatsapp.net",
                    from_me: bool = True) -> None:
        """One messages.update now (e.g. READ before DELIVERY_ACK)."""
        instance = self.instance(name)
        self.post_event(name, "messages.update", {
            "keyId": message_id, "remoteJid": remote_jid, "fromMe": from_me, "status": status,
            "instanceId": instance.instance_id, "messageId": "cm" + uuid.uuid4().hex[:23]})

    def post_event(self, name: str, event: str, data: Any, *, delay: float = 0.0, duplicate: bool = False) -> None:
        """Post one event to the instance's webhook (if it has one and takes the event)."""
        instance = self.instance(name)
        webhook = instance.webhook
        wanted = event.replace(".", "_").upper()
        if not webhook.get("enabled") or not webhook.get("url"):
            return
        if webhook.get("events") and wanted not in webhook["events"]:
            return
        for _ in range(2 if duplicate else 1):
            self._webhooks.put(_Delivery(name, event, copy.deepcopy(data)), delay=delay)

    def add_group(self, name: str, group_jid: str, subject: str, *, picture_url: str | None = None,
                  participants: Iterable[str] = ("15555550123",)) -> dict[str, Any]:
        """A group the instance's number is in (what /group/findGroupInfos answers for it)."""
        instance = self.instance(name)
        now = int(time.time())
        members = [{"id": phone_jid(number), "phoneNumber": phone_jid(number), "admin": None}
                   for number in participants]
        owner = instance.wuid or None
        metadata: dict[str, Any] = {
            "id": group_jid, "subject": subject, "subjectOwner": owner, "subjectTime": now, "pictureUrl": picture_url,
            "size": len(members), "creation": now, "owner": owner, "desc": "", "descId": "", "restrict": False,
            "announce": False, "participants": members, "isCommunity": False, "isCommunityAnnounce": False}
        with self._lock:
            instance.groups[group_jid] = metadata
        return metadata

    def group_subject(self, name: str, group_jid: str, subject: str, *, announce: bool = True) -> None:
        """Someone renamed the group, and, when `announce`, groups.update says so (Evolution 2.3.6
        itself never delivers it to an instance's webhook: see tests/fixtures/evolution/SOURCES.md;
        its group lists say the new name)."""
        instance = self.instance(name)
        with self._lock:
            instance.groups.setdefault(group_jid, {"id": group_jid})["subject"] = subject
        if announce:
            self.post_event(name, "groups.update", [{"id": group_jid, "subject": subject}])

    def contact_update(self, name: str, jid: str, *, push_name: str | None, picture_url: str | None = None) -> None:
        """contacts.update for one chat, as Evolution posts it (webhook-contacts-update.json)."""
        instance = self.instance(name)
        self.post_event(name, "contacts.update", [{"remoteJid": jid, "pushName": push_name,
                                                   "profilePicUrl": picture_url, "instanceId": instance.instance_id}])

    # --- inspecting ---

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Block until every webhook queued was posted and answered (or given up)."""
        return self._webhooks.wait_idle(timeout)

    def wait_for_sends(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` sends were accepted (one held by `hang_seconds` counts
        once the hang is over, whether or not its client is still waiting)."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def webhooks(self, event: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [entry for entry in self.webhook_log if event is None or entry["event"] == event]

    # --- HTTP ---

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Response:
        headers = {name.lower(): value for name, value in headers.items()}
        parts = urlsplit(target)
        segments = [unquote(segment) for segment in parts.path.split("/") if segment]
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        try:
            if segments[:1] == ["_sim"]:
                return control_response(self, method, segments[1:], query, raw)
            response = self._api(method, parts.path, segments, query, headers, raw)
        except Exception:
            logger.exception("Evolution simulator failed on %s %s", method, target)
            response = error(500, "Internal Server Error")
        with self._lock:
            self.requests.append({"time": time.time(), "method": method, "path": target, "status": response[0],
                                  "body": raw.decode("utf-8", "replace")[:10_000]})
        self._emit("request", {"method": method, "path": target, "status": response[0]})
        return response

    def _api(self, method: str, path: str, segments: list[str], query: Mapping[str, str],
             headers: Mapping[str, str], raw: bytes) -> Response:
        if self.license_required:
            return json_response(503, LICENSE_REQUIRED_BODY)
        failure = self._failures.take(lambda rule: path.startswith(rule.path))
        if failure is not None:
            if failure.hang_seconds:
                self._stopping.wait(failure.hang_seconds)
            if failure.status is not None:
                return json_response(failure.status, failure.body)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return error(400, "Unexpected token in JSON")
        if not isinstance(body, dict):
            body = {}
        key = headers.get("apikey", "")
        route = "/".join(segments[:2])
        name = segments[2] if len(segments) > 2 else ""
        if not key:
            return error(401)
        if (method, route) == ("POST", "instance/create"):
            return self._create(body) if key == self.api_key else error(401)
        if (method, route) == ("GET", "instance/fetchInstances"):
            if key != self.api_key:
                return error(401)
            return json_response(200, [{"name": i.name, "connectionStatus": i.state, "ownerJid": i.wuid or None,
                                        "token": i.token, "integration": i.integration}
                                       for i in self.instances.values()])
        handler = self._ROUTES.get((method, route))
        if handler is None or not name:
            return error(404, f"Cannot {method} {path}")
        instance = self.instances.get(name)
        if key != self.api_key and (instance is None or key != instance.token):
            return error(401)  # (an unknown instance with its own token: Evolution's guard refuses it so)
        if instance is None:
            return error(404, f'The "{name}" instance does not exist')
        return handler(self, instance, body, query)

    # --- instances ---

    def _create(self, body: Mapping[str, Any]) -> Response:
        name = body.get("instanceName")
        if not isinstance(name, str) or not name:
            return error(400, 'requires property "instanceName"')
        integration = body.get("integration", QR_PAIRING)
        if integration not in (QR_PAIRING, CLOUD_API):
            return error(400, "Invalid integration")
        if integration == CLOUD_API and not body.get("token"):
            return error(400, "token is required")
        if name in self.instances:
            return error(403, f'This name "{name}" is already in use.')
        if integration == CLOUD_API and not body.get("number"):
            return error(400, "number is required")
        # The token given is the instance's as it is; Evolution makes one (upper case) otherwise.
        token = str(body.get("token") or "") or str(uuid.uuid4()).upper()
        instance = SimulatedInstance(name=name, token=token, integration=integration)
        if integration == CLOUD_API:  # Evolution's BusinessStartupService: open from the start
            instance.number, instance.business_id = str(body["number"]), str(body.get("businessId") or "")
            instance.state = "open"
        instance.settings = {key: body.get(key) for key in ("rejectCall", "groupsIgnore", "alwaysOnline",
                                                            "readMessages", "readStatus", "syncFullHistory")}
        webhook = body.get("webhook")
        if isinstance(webhook, Mapping) and (refused := _refused_events(webhook.get("events"))) is not None:
            return refused
        if isinstance(webhook, Mapping) and webhook.get("url"):
            instance.webhook = {"enabled": webhook.get("enabled", True), "url": webhook["url"],
                                "headers": dict(webhook.get("headers") or {}), "events": list(webhook.get("events") or ()),
                                "base64": bool(webhook.get("base64")), "byEvents": bool(webhook.get("byEvents"))}
        with self._lock:
            self.instances[name] = instance
        qrcode: dict[str, Any] = {}
        if body.get("qrcode") and integration == QR_PAIRING:
            self._new_qr(instance, number=digits(body.get("number")))
            qrcode = instance.qrcode()
            self._post_qr(instance)
        webhook_info = instance.webhook
        return json_response(201, {
            "instance": {"instanceName": name, "instanceId": instance.instance_id, "integration": instance.integration,
                         "webhookWaBusiness": f"{self.base_url}/webhook/meta" if integration == CLOUD_API else None,
                         "accessTokenWaBusiness": META_WEBHOOK_VERIFY_TOKEN if integration == CLOUD_API else "",
                         "status": instance.state},
            "hash": instance.token,
            "webhook": {"webhookUrl": webhook_info.get("url"), "webhookHeaders": webhook_info.get("headers"),
                        "webhookByEvents": webhook_info.get("byEvents", False),
                        "webhookBase64": webhook_info.get("base64", False)} if webhook_info else {},
            "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
            "settings": {**instance.settings, "msgCall": "", "wavoipToken": ""},
            "qrcode": qrcode,
        })

    def _new_qr(self, instance: SimulatedInstance, *, number: str = "") -> None:
        with self._lock:
            instance.state, instance.qr_code = "connecting", new_qr_code()
            instance.qr_count += 1
            instance.pairing_code = new_pairing_code() if number else None

    def _post_qr(self, instance: SimulatedInstance) -> None:
        self.post_event(instance.name, "qrcode.updated", {"qrcode": {
            "instance": instance.name, "pairingCode": instance.pairing_code, "code": instance.qr_code,
            "base64": QR_PNG}})

    def _connect(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        if instance.state == "open":
            return self._state(instance, body, query)
        if instance.integration == CLOUD_API:  # no QR code: Evolution answers its empty one
            return json_response(200, {})
        if instance.state == "close":  # (a number asks for a pairing code only from here, as Evolution does)
            self._new_qr(instance, number=digits(query.get("number")))
            self._post_qr(instance)
        return json_response(200, instance.qrcode())

    def _state(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        return json_response(200, {"instance": {"instanceName": instance.name, "state": instance.state}})

    def _restart(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        if instance.state == "close":  # Evolution answers its errors here with a 200
            return json_response(200, {"error": True, "message": f'BadRequestException: The "{instance.name}" '
                                                                  "instance is not connected"})
        if instance.state == "open":
            self.post_event(instance.name, "connection.update", {
                "instance": instance.name, "wuid": instance.wuid, "profileName": instance.profile_name,
                "profilePictureUrl": None, "state": "open", "statusReason": 200})
            return self._state(instance, body, query)
        self._new_qr(instance)
        self._post_qr(instance)
        return json_response(200, instance.qrcode())

    def _logout(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        if instance.state == "close":
            return error(400, f'The "{instance.name}" instance is not connected')
        with self._lock:
            instance.state, instance.phone, instance.qr_code = "close", "", ""
        self.post_event(instance.name, "connection.update", {"instance": instance.name, "state": "close",
                                                             "statusReason": 401})
        return json_response(200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}})

    def _delete(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        with self._lock:
            self.instances.pop(instance.name, None)
        return json_response(200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}})

    def _webhook_set(self, instance: SimulatedInstance, body: Mapping[str, Any],
                     query: Mapping[str, str]) -> Response:
        webhook = body.get("webhook")
        if not isinstance(webhook, Mapping):
            return error(400, 'requires property "webhook"')
        if webhook.get("enabled") and not str(webhook.get("url") or "").startswith(("http://", "https://")):
            return error(400, 'Invalid "url" property')
        if (refused := _refused_events(webhook.get("events"))) is not None:
            return refused
        with self._lock:
            instance.webhook = {"enabled": bool(webhook.get("enabled")), "url": webhook.get("url"),
                                "headers": dict(webhook.get("headers") or {}), "events": list(webhook.get("events") or ()),
                                "base64": bool(webhook.get("base64")), "byEvents": bool(webhook.get("byEvents"))}
        return json_response(201, self._webhook_info(instance))

    def _webhook_find(self, instance: SimulatedInstance, body: Mapping[str, Any],
                      query: Mapping[str, str]) -> Response:
        return json_response(200, self._webhook_info(instance) if instance.webhook else None)

    @staticmethod
    def _webhook_info(instance: SimulatedInstance) -> dict[str, Any]:
        webhook = instance.webhook
        now = local_time_z()
        return {"id": "cm" + uuid.uuid5(uuid.NAMESPACE_URL, instance.name).hex[:23], "url": webhook.get("url"),
                "headers": webhook.get("headers"), "enabled": webhook.get("enabled"), "events": webhook.get("events"),
                "webhookByEvents": webhook.get("byEvents"), "webhookBase64": webhook.get("base64"),
                "createdAt": now, "updatedAt": now, "instanceId": instance.instance_id}

    # --- messages ---

    def _send_text(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        if not isinstance(body.get("number"), str) or not body["number"]:
            return error(400, 'requires property "number"')
        if not isinstance(body.get("text"), str):
            return error(400, 'requires property "text"')
        refused = self._not_on_whatsapp(body["number"])
        if refused is not None:
            return refused
        return self._accept(instance, body, {"conversation": body["text"]}, "conversation")

    def _send_media(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        if not isinstance(body.get("number"), str) or not body["number"]:
            return error(400, 'requires property "number"')
        kind = body.get("mediatype")
        if kind not in MEDIA_MESSAGES:
            return error(400, 'mediatype must be one of "image", "document", "video", "audio"')
        media = body.get("media")
        if not isinstance(media, str) or not media:
            return error(400, 'requires property "media"')
        refused = self._not_on_whatsapp(body["number"])
        if refused is not None:
            return refused
        try:
            content = b"" if media.startswith(("http://", "https://")) else base64.b64decode(media, validate=True)
        except (binascii.Error, ValueError):
            return error(400, "Owned media must be a url or base64")
        mime_type = str(body.get("mimetype") or "application/octet-stream")
        message_type = MEDIA_MESSAGES[kind]
        fields = media_fields(new_message_id("SIM"), mime_type, len(content))
        if body.get("caption"):
            fields["caption"] = body["caption"]
        if kind == "document":
            fields["fileName"] = body.get("fileName") or "file"
        return self._accept(instance, body, {message_type: fields}, message_type, content=content)

    def _send_reaction(self, instance: SimulatedInstance, body: Mapping[str, Any],
                       query: Mapping[str, str]) -> Response:
        key = body.get("key")
        if not isinstance(key, Mapping) or not key.get("remoteJid") or not key.get("id"):
            return error(400, 'requires property "key" with "remoteJid" and "id"')
        if not isinstance(body.get("reaction"), str):
            return error(400, 'requires property "reaction"')
        return self._accept(instance, {"number": key["remoteJid"], **body},
                            {"reactionMessage": {"key": dict(key), "text": body["reaction"]}}, "reactionMessage")

    def _not_on_whatsapp(self, number: str) -> Response | None:
        wanted = digits(number) if "@" not in number else ""
        if wanted and wanted in self.not_on_whatsapp:
            return error(400, {"jid": phone_jid(wanted), "exists": False, "number": wanted})
        return None

    def _accept(self, instance: SimulatedInstance, body: Mapping[str, Any], message: dict[str, Any],
                message_type: str, *, content: bytes = b"") -> Response:
        """A send accepted (201 with the WAMessage, as send-text.response.json), then its echo
        (send.message) and receipts (messages.update) posted as WhatsApp delivers them."""
        message_id = new_message_id()
        jid = chat_jid(str(body["number"]))
        context: dict[str, Any] = {"mentionedJid": [], "groupMentions": [],
                                   "ephemeralSettingTimestamp": {"low": 1749827700, "high": 0, "unsigned": False},
                                   "disappearingMode": {"initiator": 0}}
        quoted = body.get("quoted")
        if isinstance(quoted, Mapping) and isinstance(quoted.get("key"), Mapping):
            context.update({"stanzaId": quoted["key"].get("id"), "participant": jid,
                            "quotedMessage": quoted.get("message") or {}})
        data = {"key": {"remoteJid": jid, "fromMe": True, "id": message_id}, "pushName": "Você", "status": "PENDING",
                "message": message, "contextInfo": context, "messageType": message_type,
                "messageTimestamp": int(time.time()), "instanceId": instance.instance_id, "source": "web"}
        record = {"id": message_id, "instance": instance.name, "to": body["number"], "jid": jid,
                  "type": message_type, "body": dict(body), "time": time.time()}
        with self._lock:
            self.sent.append(record)
            if content:
                self.media[message_id] = (content, str(body.get("mimetype") or ""), str(body.get("fileName") or ""))
        self._emit("send", record)
        self._keep(instance, data)
        self.post_event(instance.name, "send.message", data)
        for index, status in enumerate(self.status_progression, start=1):
            self.post_event(instance.name, "messages.update", {
                "keyId": message_id, "remoteJid": jid, "fromMe": True, "status": status,
                "instanceId": instance.instance_id, "messageId": "cm" + uuid.uuid4().hex[:23]},
                delay=self.status_delay * index)
        return json_response(201, data)

    def _media_base64(self, instance: SimulatedInstance, body: Mapping[str, Any],
                      query: Mapping[str, str]) -> Response:
        message = body.get("message")
        if not isinstance(message, Mapping) or not isinstance(message.get("key"), Mapping):
            return error(400, "Message not found")
        message_id = str(message["key"].get("id") or "")
        found = self.media.get(message_id) if self.keeps_messages else None
        if found is None and message.get("message"):  # downloaded with the message's own fields
            found = self.media.get(media_id_in(message["message"]))
        if found is None:
            return error(400, "Message not found")
        content, mime_type, file_name = found
        kind = next((key for key in (message.get("message") or {}) if key.endswith("Message")), "imageMessage")
        return json_response(201, {"mediaType": kind, "fileName": file_name, "caption": None,
                                   "size": {"fileLength": {"low": len(content), "high": 0, "unsigned": True}},
                                   "mimetype": mime_type, "base64": base64.b64encode(content).decode(),
                                   "buffer": None})

    def _keep(self, instance: SimulatedInstance, data: Mapping[str, Any]) -> None:
        """A message in the instance's database, as Evolution stores it (what findMessages lists)."""
        if not self.keeps_messages:
            return
        record = {"id": "cm" + uuid.uuid4().hex[:23], **{name: copy.deepcopy(data.get(name)) for name in (
            "key", "pushName", "messageType", "message", "messageTimestamp", "instanceId", "source", "contextInfo")}}
        record["MessageUpdate"] = []
        with self._lock:
            instance.messages.append(record)
            del instance.messages[:-MESSAGES_KEPT]

    def _find_messages(self, instance: SimulatedInstance, body: Mapping[str, Any],
                       query: Mapping[str, str]) -> Response:
        """POST /chat/findMessages (chat-findMessages.response.json): the instance's messages,
        newest first, a page of `offset` of them; `where.messageTimestamp` filters only with both
        its bounds, as Evolution's does."""
        where = body.get("where") if isinstance(body.get("where"), Mapping) else {}
        records = list(instance.messages)
        moment = where.get("messageTimestamp") if isinstance(where, Mapping) else None
        if isinstance(moment, Mapping) and moment.get("gte") and moment.get("lte"):
            try:
                low, high = (_seconds(moment["gte"]), _seconds(moment["lte"]))
            except ValueError:
                return error(400, "Invalid messageTimestamp")
            records = [record for record in records if low <= int(record.get("messageTimestamp") or 0) <= high]
        key = where.get("key") if isinstance(where, Mapping) else None
        if isinstance(key, Mapping) and key.get("remoteJid"):
            records = [record for record in records if (record.get("key") or {}).get("remoteJid") == key["remoteJid"]]
        records.sort(key=lambda record: int(record.get("messageTimestamp") or 0), reverse=True)
        size = int(body.get("offset") or 50)
        page = int(body.get("page") or 1)
        start = size * (0 if page == 1 else page - 1)
        return json_response(200, {"messages": {"total": len(records), "pages": -(-len(records) // size),
                                                "currentPage": page, "records": records[start:start + size]}})

    def _group_info(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        """GET /group/findGroupInfos?groupJid= (group-findGroupInfos.response.json)."""
        group_jid = str(query.get("groupJid") or "")
        if not group_jid:
            return error(400, "The group id needs to be informed in the query", 'ex: "groupJid=120362@g.us"')
        if not group_jid.endswith("@g.us"):
            group_jid += "@g.us"
        found = instance.groups.get(group_jid)
        if found is None:
            return error(404, "Error fetching group", "Error: item-not-found")
        return json_response(200, found)

    def _all_groups(self, instance: SimulatedInstance, body: Mapping[str, Any], query: Mapping[str, str]) -> Response:
        """GET /group/fetchAllGroups?getParticipants= (group.router.ts, whatsapp.baileys.service.ts
        fetchAllGroups: findGroupInfos' fields, participants only when asked)."""
        if query.get("getParticipants") not in ("true", "false"):
            return error(400, 'instance requires property "getParticipants"')
        with_members = query["getParticipants"] == "true"
        return json_response(200, [{key: value for key, value in group.items() if with_members or key != "participants"}
                                   for group in instance.groups.values()])

    _ROUTES: dict[tuple[str, str], Callable[[EvolutionSimulator, SimulatedInstance, Mapping[str, Any],
                                              Mapping[str, str]], Response]] = {
        ("GET", "instance/connect"): _connect,
        ("GET", "instance/connectionState"): _state,
        ("POST", "instance/restart"): _restart,
        ("DELETE", "instance/logout"): _logout,
        ("DELETE", "instance/delete"): _delete,
        ("POST", "webhook/set"): _webhook_set,
        ("GET", "webhook/find"): _webhook_find,
        ("POST", "message/sendText"): _send_text,
        ("POST", "message/sendMedia"): _send_media,
        ("POST", "message/sendReaction"): _send_reaction,
        ("POST", "chat/getBase64FromMediaMessage"): _media_base64,
        ("GET", "group/findGroupInfos"): _group_info,
        ("GET", "group/fetchAllGroups"): _all_groups,
        ("POST", "chat/findMessages"): _find_messages,
    }

    # --- inbound messages ---

    def _upsert_data(self, name: str, from_number: str, *, push_name: str, message_id: str | None,
                     lid: str | None = None, lid_addressed: bool = False, group: str | None = None,
                     from_me: bool = False) -> dict[str, Any]:
        instance = self.instance(name)
        phone = phone_jid(from_number)
        lid_jid = f"{digits(lid)}@lid" if lid else None
        key: dict[str, Any] = {"fromMe": from_me, "id": message_id or new_message_id("3A" if from_me else "A5")}
        if group:
            key.update({"remoteJid": group, "participant": lid_jid or phone, "addressingMode": "lid" if lid_jid else "pn"})
            if lid_jid:
                key["participantAlt"] = phone
        elif lid_jid and lid_addressed:
            key.update({"remoteJid": lid_jid, "remoteJidAlt": phone, "addressingMode": "lid"})
        else:
            key.update({"remoteJid": phone, "addressingMode": "pn"})
            if lid_jid:
                key["remoteJidAlt"] = lid_jid
        ordered = {"remoteJid": key.pop("remoteJid"), **key}
        return {"key": ordered, "pushName": "Você" if from_me else push_name,
                "status": "SERVER_ACK" if from_me else "DELIVERY_ACK", "message": {}, "messageType": "conversation",
                "messageTimestamp": int(time.time()), "instanceId": instance.instance_id,
                "source": "ios" if from_me else "android"}

    def _post_upsert(self, name: str, data: dict[str, Any], *, duplicate: bool, lost: bool = False) -> str:
        message_id = str((data.get("key") or {}).get("id") or "")
        self._keep(self.instance(name), data)
        if not lost:
            self.post_event(name, "messages.upsert", data, duplicate=duplicate)
        self._emit("inbound", {"instance": name, "id": message_id})
        return message_id

    # --- webhook delivery ---

    def webhook_request(self, name: str, event: str, data: Any) -> tuple[str, bytes, dict[str, str]]:
        """(URL, body, headers) of the webhook the instance `name` posts for `event` with `data`:
        Evolution's envelope, and the instance's configured headers (its JWT mode's token made
        from its key). What `post_event` delivers; also for a client that posts it itself."""
        instance = self.instance(name)
        webhook = instance.webhook
        if not webhook.get("url"):
            raise SimulatorError(f"The instance {name!r} has no webhook.")
        url = str(webhook["url"])
        if webhook.get("byEvents"):
            url = f"{url.rstrip('/')}/{event.replace('.', '-').replace('_', '-').lower()}"
        envelope = {"event": event, "instance": instance.name, "data": data, "destination": url,
                    "date_time": local_time_z(), "sender": instance.wuid or None, "server_url": self.base_url,
                    "apikey": instance.token if self.expose_apikey else None}
        if not envelope["sender"]:
            envelope.pop("sender")
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = {str(name): str(value) for name, value in (webhook.get("headers") or {}).items()}
        if "jwt_key" in headers:  # Evolution's JWT mode: the key signs a token, and is not sent
            now = int(time.time())
            token = jwt.encode({"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook"},
                               headers.pop("jwt_key"), algorithm="HS256")
            headers["Authorization"] = f"Bearer {token}"
        headers.setdefault("Content-Type", "application/json")
        return url, body, headers

    def _deliver(self, delivery: _Delivery) -> float | None:
        """Post one webhook; in how many seconds to try it again (None: not again)."""
        instance = self.instances.get(delivery.instance)
        if instance is None or not instance.webhook.get("url"):
            return None
        url, body, headers = self.webhook_request(instance.name, delivery.event, delivery.data)
        delivery.attempt += 1
        status, problem = self._post(url, body, headers)
        entry = {"time": time.time(), "event": delivery.event, "instance": instance.name, "url": url,
                 "attempt": delivery.attempt, "http_status": status, "error": problem, "body": body,
                 "headers": headers}
        with self._lock:
            self.webhook_log.append(entry)
        self._emit("webhook", entry)
        succeeded = status is not None and 200 <= status < 300
        if succeeded or status in NOT_RETRIED or delivery.attempt > len(self.webhook_retry_delays):
            return None
        return self.webhook_retry_delays[delivery.attempt - 1]

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str | None]:
        parts = urlsplit(url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.webhook_timeout)
        try:
            connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                               headers=dict(headers))
            response = connection.getresponse()
            response.read()
            return response.status, None
        except (http.client.HTTPException, OSError) as problem:
            return None, f"{type(problem).__name__}: {problem}"
        finally:
            connection.close()
