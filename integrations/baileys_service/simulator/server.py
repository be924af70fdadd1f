"""The HTTP server and `ConnectionServiceSimulator`: the service's endpoints in both path
styles, its sessions and QR codes, and the signed webhooks it posts, one at a time, in order."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from integrations.baileys_service.client import X_API_KEY_HEADER
from integrations.baileys_service.events import SIGNATURE_HEADER, signature_for
from integrations.simulators import FailureRules, HTTPSimulator, Response

from .control import control_response
from .wire import SimulatorError, _json

# A tiny fixed PNG (a 1x1 black pixel) as the QR code the service shows: the inbox shows the
# service's own image as it is; a scan is simulated (`scan`), never read from it.
TINY_QR_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQ"
               "AAAABJRU5ErkJggg==")
# Baileys' WAMessageStatus numbers a send goes through after it is accepted.
DELIVERY_ACK, READ = 3, 4
DEFAULT_STATUS_PROGRESSION = (DELIVERY_ACK, READ)
AUTH_EITHER = "either"
OPERATIONS = ("start", "status", "delete", "send")


@dataclass
class SimulatedSession:
    session_id: str
    webhook_url: str = ""
    secret: str = ""
    status: str = "disconnected"  # qr (waiting for a scan), connected, disconnected, logged_out
    phone: str = ""
    last_activity: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        return {"session": self.session_id, "status": self.status, "phoneNumber": self.phone or None,
                "webhook_url": self.webhook_url}


@dataclass
class FailureRule:
    status: int
    body: dict[str, Any]
    operation: str = "send"
    count: int | None = 1  # None: until cleared
    hang_seconds: float = 0.0


@dataclass(frozen=True)
class _Delivery:
    session_id: str
    event: str
    data: Any


def whatsapp_jid(to: str) -> str:
    """The JID of a send's `to`: digits are a phone's, anything with an @ is a JID already."""
    return to if "@" in to else f"{''.join(ch for ch in to if ch.isdigit())}@s.whatsapp.net"


def android_message_id() -> str:
    return secrets.token_hex(16).upper()


def web_message_id() -> str:
    return "3EB0" + secrets.token_hex(9).upper()


class ConnectionServiceSimulator(HTTPSimulator):
    """A local stand-in of a connection service: both path styles, its key checked, sessions
    kept, a QR code served, sends answered and followed by status webhooks, inbound messages
    and phone scans on demand, failures on demand.

        with ConnectionServiceSimulator(api_key="K") as sim:
            sim.add_session("inbox-1", webhook_url=channel.webhook_url, secret="S")
            # the channel's config: {"service_url": sim.base_url, "session_id": "inbox-1"}
            sim.scan("inbox-1", phone="5511987654321")
            sim.inbound_text("inbox-1", phone="5511987654321", text="Oi!")
    """

    server_version = "ConnectionServiceSimulator"
    idle_timeout = 60
    thread_prefix = "service-sim"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str = "SIMULATOR_API_KEY",
                 auth_header: str = AUTH_EITHER, status_progression: tuple[int, ...] = DEFAULT_STATUS_PROGRESSION,
                 status_delay: float = 0.05, webhook_url: str = "", secret: str = "",
                 qr_events: bool = True) -> None:
        super().__init__(host, port)
        self.api_key, self.auth_header = api_key, auth_header
        self.status_progression, self.status_delay = tuple(status_progression), status_delay
        # Where the sessions that no one configured post, and how they sign.
        self.webhook_url, self.secret = webhook_url, secret
        self._hooks: dict[str, tuple[str, str]] = {}  # a deleted session's webhook URL and secret
        self.qr_events = qr_events
        self.sessions: dict[str, SimulatedSession] = {}
        self.sent: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.webhook_log: list[dict[str, Any]] = []
        self._failures: FailureRules[FailureRule] = FailureRules()
        self._lock = threading.RLock()
        self._webhooks = self._webhook_queue(self._deliver)

    # --- life -------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.sessions.clear()
            self.sent.clear()
            self.requests.clear()
            self.webhook_log.clear()
        self._failures.clear()
        self._webhooks.clear()

    # --- sessions and what happens on the phone ------------------------------------------------
    def add_session(self, session_id: str, *, webhook_url: str = "", secret: str = "", connected: bool = False,
                    phone: str = "") -> SimulatedSession:
        """A session the service knows (where it posts its events, and how it signs them)."""
        with self._lock:
            session = self.sessions.get(session_id) or SimulatedSession(session_id)
            session.webhook_url = webhook_url or session.webhook_url
            session.secret = secret or session.secret
            if connected:
                session.status, session.phone = "connected", phone
            self.sessions[session_id] = session
            return session

    def session(self, session_id: str) -> SimulatedSession:
        found = self.sessions.get(session_id)
        if found is None:
            raise SimulatorError(f"no session {session_id!r}")
        return found

    def scan(self, session_id: str, *, phone: str = "5511987654321") -> None:
        """The phone scanned the QR code: the session is connected, and says so."""
        session = self.session(session_id)
        with self._lock:
            session.status, session.phone, session.last_activity = "connected", phone, time.time()
        self.post_event(session_id, "connection", {"status": "connected", "phoneNumber": phone})

    def logout(self, session_id: str) -> None:
        """The phone logged the service out (Linked devices → Log out)."""
        session = self.session(session_id)
        with self._lock:
            session.status = "logged_out"
        self.post_event(session_id, "connection", {"status": "logged_out", "phoneNumber": session.phone or None})

    def inbound_text(self, session_id: str, *, phone: str = "5511987654321", text: str = "Oi!",
                     name: str = "Maria Cliente", lid: str = "", group: str = "", from_me: bool = False,
                     message_id: str = "", duplicate: bool = False) -> str:
        """A message on the paired phone, posted as the service posts it: a Baileys WAMessage
        in a "message" event. `lid` addresses the chat by the contact's @lid (the phone as its
        alt); `group` makes it a group's message, `phone` its author; `from_me` one typed on the
        paired phone. Returns its id."""
        data = self.text_message(phone=phone, text=text, name=name, lid=lid, group=group, from_me=from_me,
                                 message_id=message_id)
        for _ in range(2 if duplicate else 1):
            self.post_event(session_id, "message", data)
        return str(data["key"]["id"])

    @staticmethod
    def text_message(*, phone: str = "5511987654321", text: str = "Oi!", name: str = "Maria Cliente", lid: str = "",
                     group: str = "", from_me: bool = False, message_id: str = "") -> dict[str, Any]:
        """The Baileys WAMessage of a text, as `inbound_text` posts it in a "message" event
        (`webhook_request` makes the whole request)."""
        message_id = message_id or android_message_id()
        key: dict[str, Any]
        if group:
            key = {"remoteJid": group if "@" in group else f"{group}@g.us", "fromMe": from_me, "id": message_id}
            if not from_me:
                key.update(participant=lid or f"{phone}@s.whatsapp.net", addressingMode="lid" if lid else "pn")
                if lid:
                    key["participantAlt"] = f"{phone}@s.whatsapp.net"
        elif lid:
            key = {"remoteJid": lid, "remoteJidAlt": f"{phone}@s.whatsapp.net", "fromMe": from_me, "id": message_id,
                   "addressingMode": "lid"}
        else:
            key = {"remoteJid": f"{phone}@s.whatsapp.net", "fromMe": from_me, "id": message_id,
                   "addressingMode": "pn"}
        return {"key": key, "messageTimestamp": int(time.time()), "pushName": name, "broadcast": False,
                "message": {"conversation": text}}

    def post_status(self, session_id: str, message_id: str, status: int, *, to: str = "", delay: float = 0.0,
                    wait: bool = True) -> None:
        """A Baileys message update of a message the session sent (a receipt)."""
        update = [{"key": {"remoteJid": whatsapp_jid(to) if to else "", "id": message_id, "fromMe": True},
                   "update": {"status": status}}]
        self.post_event(session_id, "message.status", update, delay=delay, wait=wait)

    # --- failures ------------------------------------------------------------------------------
    def fail_next(self, status: int, body: Mapping[str, Any] | None = None, *, count: int = 1,
                  operation: str = "send", hang_seconds: float = 0.0) -> FailureRule:
        """The next `count` calls of `operation` (start, status, delete, send) answered with
        `status` and `body` (by default the service's {"success": false, "error"}), after
        `hang_seconds` (longer than the client waits: a read timeout)."""
        if operation not in OPERATIONS:
            raise SimulatorError(f"operation must be one of {', '.join(OPERATIONS)}")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        rule = FailureRule(status=status, body=dict(body) if body is not None else {"success": False, "error": phrase},
                           operation=operation, count=count, hang_seconds=hang_seconds)
        return self._failures.add(rule)

    # --- the service's endpoints ------------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        path = urlsplit(target).path
        segments = [unquote(part) for part in path.strip("/").split("/") if part]
        if segments[:1] == ["_sim"]:
            return control_response(self, method, segments[1:], body)
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": dict(headers), "time": time.time()})
        route = self._route(method, segments, body)
        if route is None:
            return _json(404, {"success": False, "error": f"Cannot {method} {path}"})
        operation, session_id, payload = route
        if not self._authorised(headers):
            return _json(401, {"success": False, "error": "Unauthorized: invalid or missing API key"})
        failure = self._failures.take(lambda rule: rule.operation == operation)
        if failure is not None:
            if failure.hang_seconds:
                time.sleep(failure.hang_seconds)
            return _json(failure.status, failure.body)
        if not session_id:
            return _json(400, {"success": False, "error": "tenantId is required"})
        if operation == "start":
            return self._start(session_id)
        if operation == "status":
            return self._status(session_id)
        if operation == "delete":
            return self._delete(session_id)
        return self._send(session_id, payload)

    def _route(self, method: str, segments: list[str], body: bytes) -> tuple[str, str, dict[str, Any]] | None:
        """(operation, session id, JSON body) of a request in either path style, or None."""
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        tenant = str(payload.get("tenantId") or "")
        if segments[:2] == ["api", "v1"]:
            rest = segments[2:]
            if method == "POST" and len(rest) == 3 and rest[0] == "sessions" and rest[2] == "start":
                return "start", rest[1], payload
            if method == "GET" and len(rest) == 3 and rest[0] == "sessions" and rest[2] == "status":
                return "status", rest[1], payload
            if method == "DELETE" and len(rest) == 2 and rest[0] == "sessions":
                return "delete", rest[1], payload
            if method == "POST" and len(rest) == 3 and rest[0] == "messages" and rest[2] == "send":
                return "send", rest[1], payload
            return None
        if method == "POST" and segments == ["sessions", "start"]:
            return "start", tenant, payload
        if method == "GET" and len(segments) == 3 and segments[0] == "sessions" and segments[2] == "status":
            return "status", segments[1], payload
        if method == "DELETE" and len(segments) == 2 and segments[0] == "sessions":
            return "delete", segments[1], payload
        if method == "POST" and segments == ["message", "send"]:
            return "send", tenant, payload
        return None

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        lowered = {name.lower(): value for name, value in headers.items()}
        bearer = lowered.get("authorization", "")
        key = self.api_key.encode()
        by_bearer = bearer[:7].lower() == "bearer " and secrets.compare_digest(bearer[7:].strip().encode(), key)
        by_header = secrets.compare_digest(lowered.get(X_API_KEY_HEADER.lower(), "").encode(), key)
        if self.auth_header == "bearer":
            return by_bearer
        if self.auth_header == "x-api-key":
            return by_header
        return by_bearer or by_header

    def _start(self, session_id: str) -> Response:
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None:
                session = self.sessions[session_id] = SimulatedSession(session_id)
                # Where the service posts a session's events is its own configuration: it outlives
                # the session (a phone logged out and paired again still reaches the inbox).
                session.webhook_url, session.secret = self._hooks.get(session_id, ("", ""))
            if session.status == "connected":
                return _json(200, {"success": True, "sessionId": session_id, "qrCode": None})
            session.status, session.last_activity = "qr", time.time()
        self._emit("start", {"session": session_id})
        if self.qr_events:
            self.post_event(session_id, "qr", {"qrCode": TINY_QR_PNG}, wait=False)
        return _json(200, {"success": True, "sessionId": session_id, "qrCode": TINY_QR_PNG})

    def _status(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return _json(404, {"success": False, "error": "Session not found"})
        connected = session.status == "connected"
        return _json(200, {"connected": connected, "status": "connecting" if session.status == "qr" else session.status,
                           "phoneNumber": session.phone if connected else None,
                           "qrCode": TINY_QR_PNG if session.status == "qr" else None,
                           "lastActivity": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(session.last_activity))})

    def _delete(self, session_id: str) -> Response:
        with self._lock:
            session = self.sessions.pop(session_id, None)
            if session is not None:
                self._hooks[session_id] = (session.webhook_url, session.secret)
        if session is None:
            return _json(404, {"success": False, "error": "Session not found"})
        self._emit("delete", {"session": session_id})
        return _json(200, {"success": True, "message": "Session deleted"})

    def _send(self, session_id: str, payload: Mapping[str, Any]) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return _json(404, {"success": False, "error": "Session not found"})
        if session.status != "connected":
            return _json(400, {"success": False, "error": "Session not connected"})
        to, text, kind = payload.get("to"), payload.get("message"), payload.get("type") or "text"
        if not isinstance(to, str) or not to or not isinstance(text, str):
            return _json(400, {"success": False, "error": "to and message are required"})
        if kind != "text" and not payload.get("mediaUrl"):
            return _json(400, {"success": False, "error": f"mediaUrl is required for type {kind}"})
        message_id = web_message_id()
        record = {"session": session_id, "to": to, "message": text, "type": kind, "messageId": message_id,
                  "body": dict(payload), "time": time.time()}
        with self._lock:
            self.sent.append(record)
            session.last_activity = time.time()
        self._emit("send", record)
        for step, status in enumerate(self.status_progression, start=1):
            self.post_status(session_id, message_id, status, to=to, delay=self.status_delay * step, wait=False)
        return _json(200, {"success": True, "messageId": message_id})

    # --- webhooks -----------------------------------------------------------------------------------
    def envelope(self, session_id: str, event: str, data: Any) -> bytes:
        """The body the service posts (compact JSON, as Node's JSON.stringify writes it)."""
        return json.dumps({"event": event, "tenantId": session_id, "data": data}, separators=(",", ":"),
                          ensure_ascii=False).encode()

    def post_event(self, session_id: str, event: str, data: Any, *, delay: float = 0.0, wait: bool = True) -> None:
        """Post a signed event of a session to its webhook (in order with every other event;
        `wait`: until it was answered). Without a webhook URL it is only logged."""
        done = self._webhooks.put(_Delivery(session_id, event, data), delay=delay)
        if wait and done is not None:
            done.wait(timeout=30)

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Whether every event queued so far was posted within `timeout` seconds."""
        return self._webhooks.wait_idle(timeout)

    def webhook_request(self, session_id: str, event: str, data: Any) -> tuple[str, bytes, dict[str, str]]:
        """(URL, body, headers) of the signed event the session posts: what `post_event`
        delivers, also for a client that posts it itself. The URL is "" when the session has
        none (and the simulator no default)."""
        session = self.sessions.get(session_id)
        url = (session.webhook_url if session else "") or self.webhook_url
        secret = (session.secret if session else "") or self.secret
        body = self.envelope(session_id, event, data)
        return url, body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature_for(body, secret)}

    def _deliver(self, delivery: _Delivery) -> None:
        url, body, headers = self.webhook_request(delivery.session_id, delivery.event, delivery.data)
        entry: dict[str, Any] = {"session": delivery.session_id, "event": delivery.event, "body": body,
                                 "url": url, "http_status": None, "error": ""}
        if url:
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (a URL we were given)
                    entry["http_status"] = response.status
            except urllib.error.HTTPError as error:
                entry["http_status"] = error.code
            except OSError as error:
                entry["error"] = f"{type(error).__name__}: {error}"
        with self._lock:
            self.webhook_log.append(entry)
        self._emit("webhook", entry)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"sessions": len(self.sessions), "sent": len(self.sent), "webhooks_posted": len(self.webhook_log),
                    "webhooks_acknowledged": sum(1 for entry in self.webhook_log
                                                 if entry["http_status"] and entry["http_status"] < 300),
                    "webhooks_waiting": self._webhooks.pending}
