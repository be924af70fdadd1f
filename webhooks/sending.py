"""One HTTP attempt of a delivery: signed as Standard Webhooks says (`webhook-id`,
`webhook-timestamp`, `webhook-signature`, one `v1,` signature per valid secret), posted once
(no redirect followed, no retry here), connected only to a public address unless
WEBHOOKS_ALLOW_PRIVATE, its answer read up to RESPONSE_EXCERPT_MAX bytes."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings
from standardwebhooks.webhooks import Webhook
from urllib3.exceptions import HTTPError, NewConnectionError, ReadTimeoutError

from integrations.http import Pools, PrivateAddressRefused, unreachable_reason
from webhooks.models import RESPONSE_EXCERPT_MAX

# Connections kept per host: as many as an endpoint's deliveries sent at once (more would be
# opened and closed for each delivery).
_pools = Pools(maxsize=max(64, settings.WEBHOOK_SEND_CONCURRENCY))
USER_AGENT = "inbox-webhooks/1"


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt went: `status` None when no answer came (`error` says why)."""

    status: int | None
    excerpt: str = ""
    latency_ms: int = 0
    error: str = ""
    retry_after: float | None = None
    # Refused before connecting (a private address): retrying cannot help until the URL changes.
    refused: bool = False


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature_header(*, secrets: list[str], msg_id: str, at: dt.datetime, body: bytes) -> str:
    """Every valid secret's signature, space-separated (a receiver accepts any of them)."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)


def retry_after_seconds(value: str | None, *, now: dt.datetime) -> float | None:
    """Retry-After as seconds, from either of its forms (a number, an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def attempt_send(*, url: str, msg_id: str, payload: dict[str, Any], secrets: list[str],
                 now: dt.datetime | None = None) -> AttemptResult:
    at = now or dt.datetime.now(dt.UTC)
    body = body_bytes(payload)
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets=secrets, msg_id=msg_id, at=at, body=body),
    }
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        pool = _pools(url, public_only=True, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
        response = pool.request("POST", url, body=body, headers=headers, timeout=timeout, retries=False,
                                redirect=False, preload_content=False)
    except PrivateAddressRefused:
        return AttemptResult(status=None, error="the URL now resolves to an address that is not on the internet",
                             latency_ms=_ms(started), refused=True)
    except ReadTimeoutError:
        return AttemptResult(status=None, error="timed out", latency_ms=_ms(started))
    except NewConnectionError as error:
        return AttemptResult(status=None, error=f"could not connect ({unreachable_reason(error)})",
                             latency_ms=_ms(started))
    except (HTTPError, OSError, ValueError) as error:
        return AttemptResult(status=None, error=f"could not be reached ({unreachable_reason(error)})",
                             latency_ms=_ms(started))
    try:
        data = response.read(RESPONSE_EXCERPT_MAX + 1)
    except (HTTPError, OSError) as error:
        response.release_conn()
        return AttemptResult(status=None, error=f"the answer broke off ({type(error).__name__})",
                             latency_ms=_ms(started))
    if len(data) > RESPONSE_EXCERPT_MAX:
        response.close()  # the rest is not read: this connection cannot be used again
    else:
        response.release_conn()
    return AttemptResult(status=response.status, excerpt=data[:RESPONSE_EXCERPT_MAX].decode("utf-8", "replace"),
                         latency_ms=_ms(started),
                         retry_after=retry_after_seconds(response.headers.get("Retry-After"), now=at))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
