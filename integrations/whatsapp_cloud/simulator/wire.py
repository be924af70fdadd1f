"""Meta's wire format: webhook bytes and their signature, and the shape of a JSON answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

_NON_DIGITS = re.compile(r"\D")
_JSON = "application/json; charset=UTF-8"

# (HTTP status, body, content type, extra headers): what a Graph or control endpoint answers.
_Response = tuple[int, bytes, str, tuple[tuple[str, str], ...]]


def webhook_body(payload: Mapping[str, Any]) -> bytes:
    """The bytes Meta posts: compact JSON, non-ASCII escaped as lowercase \\uXXXX."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def webhook_signature(app_secret: str, raw_body: bytes) -> str:
    """The X-Hub-Signature-256 value: "sha256=" + hex HMAC-SHA256(app_secret, raw body)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def _digits(value: Any) -> str:
    return _NON_DIGITS.sub("", value) if isinstance(value, str) else ""


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _json_response(status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Response:
    return status, _dumps(obj), _JSON, headers
