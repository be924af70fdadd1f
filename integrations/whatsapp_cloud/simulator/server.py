"""The HTTP server, its request handler, and `GraphSimulator`: the Graph endpoints, inbound
messages on demand, and the delivery of signed webhooks."""

from __future__ import annotations

import base64
import copy
import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import logging
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from email.utils import collapse_rfc2231_value
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.simulators import FailureRules, HTTPSimulator, SimulatorRequestHandler

from .control import control_response
from .errors import SimulatorError, _async_error, _graph_error_response, _server_error, _unknown_object
from .state import (
    DEFAULT_STATUS_PROGRESSION,
    DEFAULT_TEMPLATES,
    MEDIA_URL_LIFETIME,
    FailureRule,
    SimulatedNumber,
    _Delivery,
    _Media,
    _tiny_png,
)
from .validation import _PLACEHOLDER, _validate_send
from .wire import _JSON, _digits, _fbtrace_id, _json_response, _Response, webhook_body, webhook_signature

logger = logging.getLogger(__name__)

_VERSION = re.compile(r"^v\d+\.\d+$")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


# --- HTTP plumbing -----------------------------------------------------------------------------


class _GraphRequestHandler(SimulatorRequestHandler):
    """HTTP/1.1 with keep-alive, parsed by hand: http.server's email-based header parsing costs more
    than everything the simulator does with a send."""

    wbufsize = 0  # each answer is one write of its own (`_write`), and nothing flushes in between
    simulator: GraphSimulator

    def setup(self) -> None:
        super().setup()
        self.simulator._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.simulator._connection_closed(self.connection)

    def handle_one_request(self) -> None:
        self.close_connection = True
        try:
            line = self.rfile.readline(65537)
            if not line:
                return
            if line in (b"\r\n", b"\n"):  # stray CRLF between pipelined requests
                self.close_connection = False
                return
            parts = line.decode("latin-1").split()
            if len(line) > 65536 or len(parts) != 3:
                self._write(400, b'{"error":"bad request line"}', _JSON, (), keep_alive=False)
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            while True:
                raw = self.rfile.readline(65537)
                if raw in (b"\r\n", b"\n", b""):
                    break
                name, sep, value = raw.decode("latin-1").partition(":")
                if not sep or len(headers) > 100:
                    self._write(400, b'{"error":"bad header"}', _JSON, (), keep_alive=False)
                    return
                headers[name.strip().lower()] = value.strip()
            connection = headers.get("connection", "").lower()
            keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
            if headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self._read_body(headers)
            if body is None:
                self._write(413, b'{"error":"body too large"}', _JSON, (), keep_alive=False)
                return
            status, payload, content_type, extra = self.simulator._dispatch(method, target, headers, body)
            self._write(status, payload, content_type, extra, keep_alive=keep_alive)
            self.close_connection = not keep_alive
        except (TimeoutError, ConnectionError, OSError, ValueError):
            self.close_connection = True

    def _read_body(self, headers: Mapping[str, str]) -> bytes | None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > self.simulator.max_body:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = int(headers.get("content-length") or 0)
        if length > self.simulator.max_body:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, status: int, body: bytes, content_type: str, extra: Iterable[tuple[str, str]], *,
               keep_alive: bool) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}", f"Content-Type: {content_type}",
                 f"Content-Length: {len(body)}"]
        lines.extend(f"{name}: {value}" for name, value in extra)
        if not keep_alive:
            lines.append("Connection: close")
        # One write per response: with Nagle off, a split header/body write would cost a packet each.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


# --- The simulator -----------------------------------------------------------------------------


class GraphSimulator(HTTPSimulator):
    """A WhatsApp Cloud API (Graph) simulator on a local port; see the package docstring.

    Inspect `sent` (accepted sends), `read_receipts`, `requests` (every Graph request), `webhook_log`
    (every webhook attempt and the HTTP status it got) and `stats()`. Configure `status_progression`,
    `status_delay`, `webhook_retry_delays`, `strict_templates`, `strict_mark_read`, `on_event`;
    `hold_sends()` answers accepted sends late."""

    server_version = "GraphSimulator"
    idle_timeout = 120
    max_body = 100 * 1024 * 1024  # Meta accepts documents up to 100 MB
    listen_backlog = 1024
    thread_prefix = "graph-sim"
    request_handler = _GraphRequestHandler

    def __init__(self, host: str = "127.0.0.1", port: int = 0, version: str = "v21.0", *,
                 status_progression: Iterable[str] = DEFAULT_STATUS_PROGRESSION, status_delay: float = 0.05,
                 webhook_retry_delays: Iterable[float] = (0.1, 0.5, 2.0), webhook_timeout: float = 5.0,
                 webhook_concurrency: int = 8, log_limit: int = 100_000) -> None:
        super().__init__(host, port)
        self.version = version
        self.status_progression: list[str] = list(status_progression)
        self.status_delay = status_delay
        self.webhook_retry_delays: tuple[float, ...] = tuple(webhook_retry_delays)
        self.webhook_timeout = webhook_timeout
        self.webhook_concurrency = webhook_concurrency
        self.webhooks_enabled = True
        self.strict_templates = True  # unknown template → 132001, wrong body parameter count → 132000
        self.strict_mark_read = True  # marking read an id this number never received → 131009

        self.numbers: dict[str, SimulatedNumber] = {}
        self.sent: list[dict[str, Any]] = []
        self.read_receipts: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self.webhook_log: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self.media: dict[str, _Media] = {}

        self._templates: dict[str, list[dict[str, Any]]] = {}
        self._failures: FailureRules[FailureRule] = FailureRules()
        self._sent_by_id: dict[str, dict[str, Any]] = {}
        self._inbound_ids: dict[str, str] = {}
        self._conversations: dict[tuple[str, str], tuple[str, int]] = {}
        self._counters: dict[str, int] = dict.fromkeys(
            ("requests", "sends_accepted", "sends_rejected_cap", "sends_failed_injected", "sends_invalid",
             "reads_marked", "webhooks_posted", "webhooks_acknowledged", "webhooks_failed", "connections"), 0)
        self._lock = threading.Lock()
        self._sends_accepted_cond = threading.Condition(self._lock)  # wait_for_sends
        self._hold_seconds = 0.0
        self._hold_cond = threading.Condition()
        self._ids = itertools.count(1)
        self._salt = secrets.token_hex(4).upper()
        self._media_secret = secrets.token_bytes(16)
        self._generation = 0

        self._connections: set[socket.socket] = set()
        self._schedule_cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0
        self._pending_cond = threading.Condition()
        self._local = threading.local()

    # --- lifecycle ---

    def _background(self) -> list[threading.Thread]:
        self._pool = ThreadPoolExecutor(max_workers=self.webhook_concurrency,
                                        thread_name_prefix=f"{self.thread_prefix}-webhook")
        return [threading.Thread(target=self._scheduler_loop, name=f"{self.thread_prefix}-scheduler", daemon=True)]

    def _wind_down(self) -> None:
        with self._hold_cond:  # held answers go out now (to connections closed just below)
            self._hold_cond.notify_all()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._schedule_cond:
            self._heap.clear()
            self._schedule_cond.notify_all()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        with self._pending_cond:
            self._pending = 0
            self._pending_cond.notify_all()

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/{self.version}"

    # --- configuration ---

    def add_number(self, phone_number_id: str, *, token: str, app_secret: str, waba_id: str,
                   webhook_url: str | None = None, display_phone_number: str = "+15555550100",
                   verified_name: str = "Inbox Test", throughput_per_second: float = 80) -> SimulatedNumber:
        if not (phone_number_id and token and app_secret and waba_id):
            raise SimulatorError("phone_number_id, token, app_secret and waba_id are required.")
        number = SimulatedNumber(str(phone_number_id), token, app_secret, str(waba_id), webhook_url or None,
                                 display_phone_number, verified_name, float(throughput_per_second))
        with self._lock:
            self.numbers[number.phone_number_id] = number
            self._templates.setdefault(number.waba_id, self._with_ids(DEFAULT_TEMPLATES))
        return number

    def remove_number(self, phone_number_id: str) -> None:
        with self._lock:
            self.numbers.pop(phone_number_id, None)

    def set_templates(self, waba_id: str, templates: Iterable[Mapping[str, Any]]) -> None:
        """Replace the templates a WABA lists (and accepts in template sends)."""
        with self._lock:
            self._templates[str(waba_id)] = self._with_ids(templates)

    def templates(self, waba_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self._templates.get(str(waba_id), []))

    def _with_ids(self, templates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        result = []
        for template in templates:
            item = copy.deepcopy(dict(template))
            item.setdefault("status", "APPROVED")
            item.setdefault("id", str(10**15 + secrets.randbelow(9 * 10**15)))
            result.append(item)
        return result

    def fail_next(self, count: int | None = 1, *, code: int | None = None, http_status: int | None = None,
                  hang_seconds: float | None = None, recipient: str | None = None,
                  phone_number_id: str | None = None, subcode: int | None = None,
                  details: str | None = None) -> FailureRule:
        """The next `count` sends (to `recipient`, from `phone_number_id`, when given) fail synchronously
        with Meta's `code` (`http_status` overrides Meta's status for it), or with Graph's own 5xx when
        only `http_status` is given, after stalling `hang_seconds` if given. A hang with neither code nor
        status then accepts the send, as a request that timed out on the client may well have been."""
        if code is None and http_status is None and hang_seconds is None:
            raise SimulatorError("Give code, http_status or hang_seconds.")
        if http_status is not None and code is None and http_status < 500:
            raise SimulatorError("http_status alone must be a 5xx; give a Meta code for a 4xx.")
        return self._add_failure(count=count, code=code, http_status=http_status, hang_seconds=hang_seconds,
                                 recipient=recipient, phone_number_id=phone_number_id, subcode=subcode,
                                 details=details)

    def fail_async(self, count: int | None = 1, *, code: int = 131047, recipient: str | None = None,
                   phone_number_id: str | None = None, details: str | None = None) -> FailureRule:
        """The next `count` sends are accepted (200 + wamid), then reported `failed` with `code` by
        webhook, as Meta does for 131047 and 131026."""
        return self._add_failure(count=count, code=code, async_failure=True, recipient=recipient,
                                 phone_number_id=phone_number_id, details=details)

    def _add_failure(self, **fields: Any) -> FailureRule:
        if fields.get("count") is not None and int(fields["count"]) < 1:
            raise SimulatorError("count must be at least 1 (or None: until cleared).")
        if fields.get("recipient") is not None:
            fields["recipient"] = _digits(str(fields["recipient"]))
        return self._failures.add(FailureRule(id=next(self._ids), **fields))

    def clear_failures(self) -> None:
        self._failures.clear()

    @property
    def failures(self) -> list[FailureRule]:
        return self._failures.listed()

    def hold_sends(self, seconds: float) -> None:
        """From now on, every accepted send is recorded and counted at once (its status webhooks
        scheduled as usual), but its HTTP answer waits `seconds`: the window in which a sender that
        dies has sent a message it never heard back about. 0 turns it off and lets held answers go."""
        if seconds < 0:
            raise SimulatorError("seconds must be 0 (off) or more.")
        with self._hold_cond:
            self._hold_seconds = float(seconds)
            self._hold_cond.notify_all()

    @property
    def send_hold_seconds(self) -> float:
        return self._hold_seconds

    def _hold_answer(self) -> None:
        """Wait out the send hold (in the handler's thread), cut short when it is turned off or the
        simulator stops."""
        with self._hold_cond:
            if self._hold_seconds <= 0:
                return
            deadline = time.monotonic() + self._hold_seconds
            while self._hold_seconds > 0 and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._hold_cond.wait(remaining)

    def remember_inbound(self, phone_number_id: str, message_id: str) -> None:
        """Let a message that did not come through the simulator be marked read."""
        with self._lock:
            self._inbound_ids[message_id] = phone_number_id

    def reset(self, *, numbers: bool = False) -> None:
        """Forget what was sent, logged and scheduled, every failure rule and the send hold; refill the
        buckets. Numbers and templates stay unless `numbers=True`."""
        self.hold_sends(0)
        with self._lock:
            self._generation += 1
            self.sent.clear()
            self._sent_by_id.clear()
            self.read_receipts.clear()
            self.requests.clear()
            self.webhook_log.clear()
            self._failures.clear()
            self._inbound_ids.clear()
            self._conversations.clear()
            self.media.clear()
            for name in self._counters:
                self._counters[name] = 0
            if numbers:
                self.numbers.clear()
                self._templates.clear()
            for number in self.numbers.values():
                number.refill()
        with self._schedule_cond:
            self._heap.clear()
        with self._pending_cond:
            self._pending = 0
            self._pending_cond.notify_all()

    # --- counting ---

    def stats(self) -> dict[str, int]:
        with self._lock:
            counters = dict(self._counters)
        counters["webhooks_pending"] = self._pending
        counters["sent"] = len(self.sent)
        return counters

    @property
    def sends_accepted(self) -> int:
        return self._counters["sends_accepted"]

    @property
    def sends_rejected_cap(self) -> int:
        return self._counters["sends_rejected_cap"]

    @property
    def webhooks_posted(self) -> int:
        return self._counters["webhooks_posted"]

    @property
    def webhooks_acknowledged(self) -> int:
        return self._counters["webhooks_acknowledged"]

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counters[name] += n

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Block until every scheduled webhook (status progressions included) was posted and answered
        or given up; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._pending_cond:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._pending_cond.wait(remaining)
        return True

    def wait_for_sends(self, count: int, timeout: float) -> bool:
        """Block until at least `count` sends were accepted (since the start or the last reset);
        False if `timeout` passed first. Held sends count as soon as they are accepted."""
        with self._sends_accepted_cond:
            return self._sends_accepted_cond.wait_for(lambda: self._counters["sends_accepted"] >= count, timeout)

    # --- inbound customer messages and statuses on demand ---

    def inbound_text(self, phone_number_id: str, from_wa_id: str = "15555550123", text: str = "Hello",
                     name: str = "Maria", message_id: str | None = None, *, context_message_id: str | None = None,
                     duplicate: bool = False) -> str:
        """Post a customer's text message (inbound-text.json shape); returns its wamid."""
        return self.inbound_batch([{"phone_number_id": phone_number_id, "type": "text", "from": from_wa_id,
                                    "text": text, "name": name, "message_id": message_id,
                                    "context_message_id": context_message_id}], duplicate=duplicate)[0]

    def inbound_image(self, phone_number_id: str, from_wa_id: str = "15555550123", *, media_id: str | None = None,
                      caption: str | None = None, content: bytes | None = None, mime_type: str | None = None,
                      name: str = "Maria", message_id: str | None = None, duplicate: bool = False) -> str:
        """Post a customer's image (inbound-image.json shape). Without `media_id` the bytes (`content`, or a
        1x1 PNG) are stored so that the Graph media endpoints serve them. Returns the wamid."""
        return self.inbound_batch([{"phone_number_id": phone_number_id, "type": "image", "from": from_wa_id,
                                    "media_id": media_id, "caption": caption, "content": content,
                                    "mime_type": mime_type, "name": name, "message_id": message_id}],
                                  duplicate=duplicate)[0]

    def inbound_message(self, phone_number_id: str, message: Mapping[str, Any], *, name: str = "Maria",
                        duplicate: bool = False) -> str:
        """Post any customer message object (location, contacts, interactive reply, reaction...), as in
        the inbound-*.json fixtures; `from`, `id` and `timestamp` are filled in when missing."""
        return self.inbound_batch([{"phone_number_id": phone_number_id, "message": dict(message), "name": name}],
                                  duplicate=duplicate)[0]

    def post_status(self, phone_number_id: str | None, message_id: str, status: str, *, recipient_id: str | None = None,
                    error_code: int | None = None, duplicate: bool = False) -> str:
        """Post one status webhook now (e.g. out of order, or a `failed` after `sent`)."""
        return self.inbound_batch([{"phone_number_id": phone_number_id, "status": status, "id": message_id,
                                    "recipient_id": recipient_id, "error_code": error_code}], duplicate=duplicate)[0]

    def inbound_batch(self, items: Iterable[Mapping[str, Any]], *, duplicate: bool = False) -> list[str]:
        """Post several messages and statuses in ONE webhook, grouped like webhook-batched-multi.json (an
        entry per WABA, a change per number and kind). Items: {"type": "text"|"image", "from", "text",
        "name", "media_id", "caption", "message_id", "context_message_id"}, {"message": {...}} or
        {"status", "id", "recipient_id", "error_code"}, each with its "phone_number_id" (optional when one
        number is registered). The numbers must share a webhook URL and app secret. Returns the ids."""
        items = [dict(item) for item in items]
        if not items:
            raise SimulatorError("An empty batch.")
        numbers = [self._number_for(item.get("phone_number_id")) for item in items]
        first = numbers[0]
        if not first.webhook_url:
            raise SimulatorError(f"Number {first.phone_number_id} has no webhook_url.")
        if any((n.webhook_url, n.app_secret) != (first.webhook_url, first.app_secret) for n in numbers):
            raise SimulatorError("Every number of a batch must share the webhook URL and app secret.")
        entries: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        ids: list[str] = []
        for item, number in zip(items, numbers, strict=True):
            if item.get("status"):
                status = self._status_object(number, item)
                value = self._change_value(entries, number, "statuses")
                value.setdefault("statuses", []).append(status)
                ids.append(status["id"])
                continue
            message, contact = self._inbound_message_object(number, item)
            value = self._change_value(entries, number, "messages")
            contacts = value.setdefault("contacts", [])
            if all(existing["wa_id"] != contact["wa_id"] for existing in contacts):
                contacts.append(contact)
            value.setdefault("messages", []).append(message)
            ids.append(message["id"])
            with self._lock:
                self._inbound_ids[message["id"]] = number.phone_number_id
        payload = {"object": "whatsapp_business_account", "entry": [
            {"id": waba_id, "changes": [{"value": value, "field": "messages"} for value in changes.values()]}
            for waba_id, changes in entries.items()
        ]}
        body = webhook_body(payload)
        kind = "inbound" if len(items) == 1 and not items[0].get("status") else (
            "status" if len(items) == 1 else "batch")
        for _ in range(2 if duplicate else 1):
            self._post_now(first, body, kind, tuple(ids))
        self._emit("inbound", {"phone_number_id": first.phone_number_id, "ids": ids, "duplicate": duplicate})
        return ids

    def post_raw(self, phone_number_id: str, payload: bytes | Mapping[str, Any], *, duplicate: bool = False) -> None:
        """Post any webhook body (a fixture, say) to the number's webhook URL, signed with its app secret."""
        number = self._number_for(phone_number_id)
        if not number.webhook_url:
            raise SimulatorError(f"Number {number.phone_number_id} has no webhook_url.")
        body = payload if isinstance(payload, bytes) else webhook_body(payload)
        ids = self._remember_messages_in(body)
        for _ in range(2 if duplicate else 1):
            self._post_now(number, body, "raw", ids)

    def _remember_messages_in(self, body: bytes) -> tuple[str, ...]:
        """The wamids of the customer messages in a webhook body, remembered so they can be marked read."""
        try:
            payload = json.loads(body)
            found = [(change["value"]["metadata"]["phone_number_id"], message["id"])
                     for entry in payload.get("entry", ()) for change in entry.get("changes", ())
                     for message in change.get("value", {}).get("messages", ())]
        except (ValueError, KeyError, TypeError, AttributeError):
            return ()
        with self._lock:
            for phone_number_id, message_id in found:
                self._inbound_ids[str(message_id)] = str(phone_number_id)
        return tuple(str(message_id) for _, message_id in found)

    def _number_for(self, phone_number_id: str | None) -> SimulatedNumber:
        if phone_number_id is None:
            if len(self.numbers) == 1:
                return next(iter(self.numbers.values()))
            raise SimulatorError("Say which phone_number_id.")
        number = self.numbers.get(str(phone_number_id))
        if number is None:
            raise SimulatorError(f"Unknown phone_number_id {phone_number_id!r}; add_number() it first.")
        return number

    @staticmethod
    def _change_value(entries: dict[str, dict[tuple[str, str], dict[str, Any]]], number: SimulatedNumber,
                      kind: str) -> dict[str, Any]:
        changes = entries.setdefault(number.waba_id, {})
        key = (number.phone_number_id, kind)
        if key not in changes:
            changes[key] = {"messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": number.display_digits,
                                         "phone_number_id": number.phone_number_id}}
        return changes[key]

    def _inbound_message_object(self, number: SimulatedNumber,
                                item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        raw = item.get("message")
        from_wa_id = _digits(str((raw or {}).get("from") or item.get("from") or "15555550123"))
        contact = {"profile": {"name": item.get("name") or "Maria"}, "wa_id": from_wa_id}
        message_id = item.get("message_id") or (raw or {}).get("id") or self._new_wamid(from_wa_id)
        timestamp = str(int(time.time()))
        if raw is not None:
            message: dict[str, Any] = {"from": from_wa_id, "id": message_id, "timestamp": timestamp}
            message.update({key: value for key, value in raw.items() if key not in ("from", "id")})
            message.setdefault("timestamp", timestamp)
            return message, contact
        message = {}
        if item.get("context_message_id"):
            message["context"] = {"from": number.display_digits, "id": item["context_message_id"]}
        message.update({"from": from_wa_id, "id": message_id, "timestamp": timestamp})
        kind = item.get("type", "text")
        if kind == "text":
            message.update({"type": "text", "text": {"body": str(item.get("text") or "Hello")}})
        elif kind == "image":
            media = self._inbound_media(number, item)
            image: dict[str, Any] = {}
            if item.get("caption"):
                image["caption"] = item["caption"]
            image.update({"mime_type": media.mime_type, "sha256": media.sha256_b64, "id": media.media_id,
                          "url": self._media_url(media)})
            message.update({"type": "image", "image": image})
        else:
            raise SimulatorError(f"Inbound type {kind!r}: use text, image, or a raw 'message' object.")
        return message, contact

    def _inbound_media(self, number: SimulatedNumber, item: Mapping[str, Any]) -> _Media:
        media_id = item.get("media_id")
        if media_id and str(media_id) in self.media:
            return self.media[str(media_id)]
        content = item.get("content")
        if isinstance(content, str):
            content = content.encode()
        mime_type = item.get("mime_type") or ("image/png" if content is None else "image/jpeg")
        return self._store_media(number.phone_number_id, content or _tiny_png(), mime_type,
                                 media_id=str(media_id) if media_id else None)

    def _status_object(self, number: SimulatedNumber, item: Mapping[str, Any]) -> dict[str, Any]:
        message_id = str(item["id"])
        record = self._sent_by_id.get(message_id)
        if record is None:
            # A message the simulator did not send: it knows no conversation or pricing for it.
            record = {"wamid": message_id, "wa_id": _digits(str(item.get("recipient_id") or "15555550123")),
                      "type": "text", "body": {}, "phone_number_id": number.phone_number_id, "bare": True}
        elif item.get("recipient_id"):
            record = {**record, "wa_id": _digits(str(item["recipient_id"]))}
        return self._status_for(number, record, str(item["status"]), item.get("error_code"), item.get("details"))

    # --- webhook payloads ---

    def _status_for(self, number: SimulatedNumber, record: Mapping[str, Any], status: str,
                    error_code: int | None = None, details: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        item: dict[str, Any] = {"id": record["wamid"], "status": status, "timestamp": str(now),
                                "recipient_id": record["wa_id"]}
        body = record.get("body") or {}
        if body.get("biz_opaque_callback_data"):
            item["biz_opaque_callback_data"] = body["biz_opaque_callback_data"]
        if status == "failed":
            item["errors"] = [_async_error(int(error_code or 131000), details)]
            return item
        if status not in ("sent", "delivered") or record.get("bare"):
            return item
        if record.get("type") == "template":
            # v24 shape for templates (status-sent-template-marketing.json): no conversation object.
            category = self._template_category(number, body.get("template") or {})
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}
            return item
        conversation_id, expires = self._conversation(number.phone_number_id, record["wa_id"], now)
        conversation: dict[str, Any] = {"id": conversation_id}
        if status == "sent":
            conversation["expiration_timestamp"] = str(expires)
        conversation["origin"] = {"type": "service"}
        item["conversation"] = conversation
        item["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service",
                           "type": "free_customer_service"}
        return item

    def _conversation(self, phone_number_id: str, wa_id: str, now: int) -> tuple[str, int]:
        key = (phone_number_id, wa_id)
        with self._lock:
            current = self._conversations.get(key)
            if current is None or current[1] <= now:
                current = (secrets.token_hex(16), now + 86400)
                self._conversations[key] = current
            return current

    def _template_category(self, number: SimulatedNumber, template: Mapping[str, Any]) -> str:
        found = self._find_template(number.waba_id, template)
        return str((found or {}).get("category") or "marketing").lower()

    def _find_template(self, waba_id: str, template: Mapping[str, Any]) -> dict[str, Any] | None:
        language = (template.get("language") or {}).get("code")
        for candidate in self._templates.get(waba_id, ()):
            if candidate.get("name") == template.get("name") and candidate.get("language") == language:
                return candidate
        return None

    def _envelope(self, number: SimulatedNumber, **value: Any) -> dict[str, Any]:
        return {"object": "whatsapp_business_account", "entry": [{"id": number.waba_id, "changes": [{"value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": number.display_digits, "phone_number_id": number.phone_number_id},
            **value}, "field": "messages"}]}]}

    def _new_wamid(self, wa_id: str) -> str:
        # Shaped like Meta's: base64 of a small binary record holding the user's number and a hex id.
        digits = wa_id.encode()[:64]
        unique = f"{self._salt}{next(self._ids):010X}".encode()
        raw = b"\x1c\x18" + bytes([len(digits)]) + digits + b"\x15\x02\x00\x11\x18\x12" + unique + b"\x00"
        return "wamid." + base64.b64encode(raw).decode()

    # --- webhook delivery ---

    def _post_now(self, number: SimulatedNumber, body: bytes, kind: str, ids: tuple[str, ...]) -> None:
        assert number.webhook_url
        generation = self._generation
        self._pending_add(1)
        delivery = _Delivery(number.webhook_url, number.app_secret, body, kind, ids, number.phone_number_id,
                             generation, on_finish=lambda: self._pending_done(generation))
        self._submit(lambda: self._deliver(delivery))

    def _start_status_chain(self, number: SimulatedNumber, record: dict[str, Any], steps: list[str],
                            error_code: int | None, details: str | None) -> None:
        generation = self._generation
        self._pending_add(1)
        self._schedule(self.status_delay,
                       lambda: self._status_step(number, record, steps, 0, error_code, details, generation))

    def _status_step(self, number: SimulatedNumber, record: dict[str, Any], steps: list[str], index: int,
                     error_code: int | None, details: str | None, generation: int) -> None:
        if generation != self._generation or not number.webhook_url:
            self._pending_done(generation)
            return
        status = steps[index]
        payload = self._envelope(number, statuses=[self._status_for(number, record, status, error_code, details)])
        record["statuses"].append(status)

        def next_step() -> None:
            if index + 1 < len(steps) and not self._stopping.is_set():
                self._schedule(self.status_delay, lambda: self._status_step(number, record, steps, index + 1,
                                                                            error_code, details, generation))
            else:
                self._pending_done(generation)

        self._deliver(_Delivery(number.webhook_url, number.app_secret, webhook_body(payload), f"status:{status}",
                                (record["wamid"],), number.phone_number_id, generation, on_finish=next_step))

    def _deliver(self, delivery: _Delivery) -> None:
        if self._stopping.is_set() or delivery.generation != self._generation:
            if delivery.on_finish:
                delivery.on_finish()
            return
        delivery.attempt += 1
        signature = webhook_signature(delivery.app_secret, delivery.body)
        started = time.monotonic()
        http_status, error = self._http_post(delivery.url, delivery.body, signature)
        entry = {"time": time.time(), "url": delivery.url, "kind": delivery.kind, "ids": delivery.ids,
                 "phone_number_id": delivery.phone_number_id, "attempt": delivery.attempt,
                 "http_status": http_status, "error": error, "signature": signature, "body": delivery.body,
                 "elapsed": time.monotonic() - started}
        with self._lock:
            if delivery.generation == self._generation:
                self.webhook_log.append(entry)
            self._counters["webhooks_posted"] += 1
            if http_status == 200:
                self._counters["webhooks_acknowledged"] += 1
        self._emit("webhook", entry)
        if http_status == 200 or delivery.attempt > len(self.webhook_retry_delays) or self._stopping.is_set():
            if http_status != 200:
                self._count("webhooks_failed")
            if delivery.on_finish:
                delivery.on_finish()
            return
        self._schedule(self.webhook_retry_delays[delivery.attempt - 1], lambda: self._deliver(delivery))

    def _http_post(self, url: str, body: bytes, signature: str) -> tuple[int | None, str | None]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        connections: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "connections", {})
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature,
                   "User-Agent": "facebookexternalua"}
        for _ in range(2):
            connection = connections.get(key)
            reused = connection is not None
            if connection is None:
                factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.webhook_timeout)
                connections[key] = connection
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.will_close:
                    connection.close()
                    connections.pop(key, None)
                return response.status, None
            except (http.client.HTTPException, OSError) as exc:
                connection.close()
                connections.pop(key, None)
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if not (reused and stale):  # a kept-alive connection the receiver closed: one fresh try
                    return None, f"{type(exc).__name__}: {exc}"
        return None, "connection lost twice"

    def _pending_add(self, n: int) -> None:
        with self._pending_cond:
            self._pending += n

    def _pending_done(self, generation: int) -> None:
        with self._pending_cond:
            if generation == self._generation and self._pending > 0:
                self._pending -= 1
            if self._pending == 0:
                self._pending_cond.notify_all()

    def _submit(self, task: Callable[[], None]) -> None:
        pool = self._pool
        if pool is None or self._stopping.is_set():
            raise SimulatorError("The simulator is not running: start() it first.")
        pool.submit(self._run_safely, task)

    def _run_safely(self, task: Callable[[], None]) -> None:
        try:
            task()
        except SimulatorError:
            if not self._stopping.is_set():
                logger.exception("Graph simulator background task failed")
        except Exception:
            logger.exception("Graph simulator background task failed")

    def _schedule(self, delay: float, task: Callable[[], None]) -> None:
        if delay <= 0:
            self._submit(task)
            return
        with self._schedule_cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._ids), task))
            self._schedule_cond.notify()

    def _scheduler_loop(self) -> None:
        while not self._stopping.is_set():
            with self._schedule_cond:
                if not self._heap:
                    self._schedule_cond.wait(0.5)
                    continue
                due, _, task = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._schedule_cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            try:
                self._submit(task)
            except (SimulatorError, RuntimeError):
                return

    # --- connections ---

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            self._counters["connections"] += 1

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # --- HTTP dispatch ---

    def _dispatch(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Response:
        path, _, query_string = target.partition("?")
        segments = [segment for segment in path.split("/") if segment]
        try:
            if segments[:1] == ["_sim"]:
                return control_response(self, method, segments[1:], parse_qs(query_string), body)
            if segments[:2] == ["whatsapp_business", "attachments"]:
                response = self._media_download(parse_qs(query_string), headers)
            else:
                if segments and _VERSION.match(segments[0]):
                    segments = segments[1:]
                response = self._graph(method, segments, parse_qs(query_string), headers, body)
        except Exception:
            logger.exception("Graph simulator failed on %s %s", method, target)
            response = _json_response(500, _server_error(500))
        self._count("requests")
        self.requests.append({"time": time.time(), "method": method, "path": target, "status": response[0],
                              "body": body})
        return response

    def _graph(self, method: str, segments: list[str], query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes) -> _Response:
        if not segments:
            return _graph_error_response(100, details="Unsupported request: no object id.")
        token = self._bearer(headers, query)
        object_id, edge = segments[0], "/".join(segments[1:])
        number = self.numbers.get(object_id)
        if number is not None:
            if token != number.token:
                return _graph_error_response(190)
            if method == "GET" and not edge:
                return self._phone_number_info(number, query)
            if method == "POST" and edge == "messages":
                return self._messages(number, body)
            if method == "POST" and edge == "media":
                return self._media_upload(number, headers, body)
            return self._unknown_path(method, object_id, edge)
        if object_id in self.media and not edge and method in ("GET", "DELETE"):
            media = self.media[object_id]
            owner = self.numbers.get(media.phone_number_id)
            if owner is None or token != owner.token:
                return self._token_error_or_unknown(token, method, object_id)
            if method == "DELETE":
                with self._lock:
                    self.media.pop(object_id, None)
                return _json_response(200, {"success": True})
            return _json_response(200, {"messaging_product": "whatsapp", "url": self._media_url(media),
                                        "mime_type": media.mime_type, "sha256": media.sha256_hex,
                                        "file_size": str(len(media.content)), "id": media.media_id})
        if object_id in self._templates and edge == "message_templates" and method == "GET":
            tokens = {n.token for n in self.numbers.values() if n.waba_id == object_id}
            if token not in tokens:
                return self._token_error_or_unknown(token, method, object_id)
            return self._message_templates(object_id, query)
        return self._token_error_or_unknown(token, method, object_id)

    def _token_error_or_unknown(self, token: str | None, method: str, object_id: str) -> _Response:
        if token is None or all(token != number.token for number in self.numbers.values()):
            return _graph_error_response(190)
        return _unknown_object(method, object_id)

    @staticmethod
    def _unknown_path(method: str, object_id: str, edge: str) -> _Response:
        if not edge:
            return _unknown_object(method, object_id)
        body = {"error": {"message": f"Unknown path components: /{edge}", "type": "OAuthException", "code": 2500,
                          "fbtrace_id": _fbtrace_id()}}
        return _json_response(400, body)

    @staticmethod
    def _bearer(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> str | None:
        authorization = headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and credentials.strip():
            return credentials.strip()
        tokens = query.get("access_token")
        return tokens[0] if tokens else None

    def _phone_number_info(self, number: SimulatedNumber, query: Mapping[str, list[str]]) -> _Response:
        info = number.info()
        fields = query.get("fields")
        if fields:
            wanted = {name.strip() for name in fields[0].split(",") if name.strip()}
            info = {key: value for key, value in {**info, "messaging_limit_tier": number.messaging_limit_tier}.items()
                    if key in wanted or key == "id"}
        return _json_response(200, info)

    def _messages(self, number: SimulatedNumber, body: bytes) -> _Response:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self._count("sends_invalid")
            return _graph_error_response(100, details="The request body is not a JSON object.")
        if payload.get("status") == "read":
            return self._mark_read(number, payload)
        to = payload.get("to")
        wa_id = _digits(to)
        async_code: int | None = None
        async_details: str | None = None
        if self._failures:
            rule = self._failures.take(lambda rule: rule.matches(number.phone_number_id, wa_id))
            if rule is not None:
                if rule.hang_seconds:
                    self._stopping.wait(rule.hang_seconds)
                if rule.async_failure:
                    async_code, async_details = rule.code or 131047, rule.details
                elif rule.code is not None:
                    self._count("sends_failed_injected")
                    return _graph_error_response(rule.code, details=rule.details, subcode=rule.subcode,
                                                 http_status=rule.http_status)
                elif rule.http_status is not None:
                    self._count("sends_failed_injected")
                    return _json_response(rule.http_status, _server_error(rule.http_status))
        invalid = _validate_send(payload) or self._validate_template(number, payload)
        if invalid is not None:
            self._count("sends_invalid")
            return invalid
        if not number.take():
            self._count("sends_rejected_cap")
            self._emit("send_rejected", {"phone_number_id": number.phone_number_id, "to": to, "code": 130429})
            return _graph_error_response(130429)
        kind = payload.get("type", "text")
        wamid = self._new_wamid(wa_id)
        record: dict[str, Any] = {"wamid": wamid, "phone_number_id": number.phone_number_id, "to": to,
                                  "wa_id": wa_id, "type": kind, "body": payload, "time": time.time(),
                                  "statuses": []}
        if async_code is not None:
            record["async_failure"] = async_code
        with self._lock:
            self.sent.append(record)
            self._sent_by_id[wamid] = record
            self._counters["sends_accepted"] += 1
            self._sends_accepted_cond.notify_all()
        steps = ["failed"] if async_code is not None else list(self.status_progression)
        if number.webhook_url and steps and self.webhooks_enabled and not self._stopping.is_set():
            self._start_status_chain(number, record, steps, async_code, async_details)
        self._emit("send", record)
        message: dict[str, Any] = {"id": wamid}
        if kind == "template":
            message["message_status"] = "accepted"
        self._hold_answer()
        return _json_response(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": wa_id}],
                                    "messages": [message]})

    def _validate_template(self, number: SimulatedNumber, payload: Mapping[str, Any]) -> _Response | None:
        if payload.get("type") != "template" or not self.strict_templates:
            return None
        template = payload["template"]
        found = self._find_template(number.waba_id, template)
        language = template["language"]["code"]
        if found is None or found.get("status") != "APPROVED":
            return _graph_error_response(132001, details=f"template name ({template['name']}) does not exist in "
                                                         f"{language}")
        body_text = next((c.get("text", "") for c in found.get("components", ())
                          if str(c.get("type", "")).upper() == "BODY"), "")
        expected = len(set(_PLACEHOLDER.findall(body_text)))
        given = sum(len(c.get("parameters") or ()) for c in template.get("components") or ()
                    if isinstance(c, dict) and str(c.get("type", "")).lower() == "body")
        if given != expected:
            return _graph_error_response(132000, details=f"body: number of localizable_params ({given}) does not "
                                                         f"match the expected number of params ({expected})")
        return None

    def _mark_read(self, number: SimulatedNumber, payload: Mapping[str, Any]) -> _Response:
        if payload.get("messaging_product") != "whatsapp":
            return _graph_error_response(131008, details="The parameter messaging_product is required.")
        message_id = payload.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            return _graph_error_response(131008, details="The parameter message_id is required.")
        if self.strict_mark_read and self._inbound_ids.get(message_id) != number.phone_number_id:
            return _graph_error_response(131009, details=f"Invalid message_id: {message_id}")
        receipt = {"phone_number_id": number.phone_number_id, "message_id": message_id,
                   "typing_indicator": payload.get("typing_indicator"), "time": time.time()}
        with self._lock:
            self.read_receipts.append(receipt)
            self._counters["reads_marked"] += 1
        self._emit("read", receipt)
        return _json_response(200, {"success": True})

    def _message_templates(self, waba_id: str, query: Mapping[str, list[str]]) -> _Response:
        templates = self._templates.get(waba_id, [])
        names = query.get("name")
        if names:
            templates = [t for t in templates if names[0] in str(t.get("name", ""))]
        try:
            limit = max(1, min(int((query.get("limit") or ["25"])[0]), 1000))
            start = int(base64.urlsafe_b64decode((query.get("after") or ["MA=="])[0]).decode() or 0)
        except ValueError:
            return _graph_error_response(100, details="Invalid paging parameter.")
        page = templates[start:start + limit]
        before = base64.urlsafe_b64encode(str(start).encode()).decode()
        after = base64.urlsafe_b64encode(str(start + len(page)).encode()).decode()
        paging: dict[str, Any] = {"cursors": {"before": before, "after": after}}
        if start + limit < len(templates):
            paging["next"] = f"{self.graph_url}/{waba_id}/message_templates?limit={limit}&after={after}"
        return _json_response(200, {"data": page, "paging": paging})

    # --- media ---

    def _store_media(self, phone_number_id: str, content: bytes, mime_type: str, *,
                     media_id: str | None = None) -> _Media:
        with self._lock:
            while media_id is None or media_id in self.media:
                media_id = str(10**14 + secrets.randbelow(9 * 10**14))
            media = _Media(media_id, content, mime_type, phone_number_id)
            self.media[media_id] = media
        return media

    def _media_url(self, media: _Media) -> str:
        expires = int(time.time()) + MEDIA_URL_LIFETIME
        return (f"{self.base_url}/whatsapp_business/attachments/?mid={media.media_id}&ext={expires}"
                f"&hash={self._media_hash(media.media_id, expires)}")

    def _media_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self._media_secret, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:24]

    def _media_upload(self, number: SimulatedNumber, headers: Mapping[str, str], body: bytes) -> _Response:
        content_type = headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return _graph_error_response(100, details="Upload media as multipart/form-data.")
        message = BytesParser(policy=HTTP_POLICY).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1") + body)
        fields: dict[str, str] = {}
        file_part = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, tuple):  # RFC 2231 (name*=) undecoded; the HTTP policy decodes it already
                name = collapse_rfc2231_value(name)
            if name == "file":
                file_part = part
            elif name:
                fields[name] = part.get_content().strip() if part.get_content_maintype() == "text" else ""
        if fields.get("messaging_product") != "whatsapp":
            return _graph_error_response(131008, details="The parameter messaging_product is required.")
        if file_part is None:
            return _graph_error_response(131008, details="The parameter file is required.")
        # A leaf part decodes to bytes (None when empty); a nested multipart is no file.
        payload = file_part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        mime_type = fields.get("type") or file_part.get_content_type()
        media = self._store_media(number.phone_number_id, content, mime_type)
        return _json_response(200, {"id": media.media_id})

    def _media_download(self, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> _Response:
        media_id = (query.get("mid") or [""])[0]
        try:
            expires = int((query.get("ext") or ["0"])[0])
        except ValueError:
            expires = 0
        media = self.media.get(media_id)
        valid = hmac.compare_digest((query.get("hash") or [""])[0], self._media_hash(media_id, expires))
        if media is None or not valid or expires < time.time():
            return 404, b"Not Found", "text/plain", ()
        owner = self.numbers.get(media.phone_number_id)
        if owner is None or self._bearer(headers, {}) != owner.token:
            return 401, b"Unauthorized", "text/plain", ()
        return 200, media.content, media.mime_type, ()
