"""Calls to a connection service: one request each, with timeouts, never retried here (the
pipeline decides whether to try again), its answers and failures in the adapter contract's
errors.

urllib3 directly, as the other adapters do (already a dependency, typed, keep-alive pools
shared by a process's threads)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError, ReadTimeoutError

from integrations.base import (
    ProviderAuthError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTemporaryError,
    ProviderUnreachableError,
)
from integrations.http import Pools

# (connect, read) seconds of one call, and the most a call may take in all: less than the
# pipeline's claim on a reply (OUTBOUND_SEND_LEASE_SECONDS).
TIMEOUT = (3.05, 15.0)
TOTAL_TIMEOUT = 20.0

# How the service is told the key: seed 003 reads a bearer token, seed 001 an X-API-KEY header.
AUTH_BEARER = "bearer"
AUTH_X_API_KEY = "x-api-key"
AUTH_HEADERS = (AUTH_BEARER, AUTH_X_API_KEY)
X_API_KEY_HEADER = "X-API-KEY"

# The two path layouts of the seeds' services.
STYLE_V1 = "v1"  # seed 003: /api/v1/sessions/{tenantId}/..., /api/v1/messages/{tenantId}/send
STYLE_SHORT = "short"  # seed 001: /sessions/start (tenantId in the body), /message/send
STYLES = (STYLE_V1, STYLE_SHORT)

# Keep-alive connections to each server (integrations.http).
_pool = Pools(maxsize=8)


@dataclass(frozen=True)
class Answer:
    """What the service answered: its HTTP status and its JSON body ({} when it had none)."""

    status: int
    body: dict[str, Any]

    @property
    def reason(self) -> str:
        """The service's own words for a refusal ("error" or "message"), or ""."""
        for name in ("error", "message", "detail"):
            value = self.body.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()[:400]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"]).strip()[:400]
        return ""


@dataclass(frozen=True)
class ConnectionService:
    """One connection service, the key a call carries and how, and its path layout."""

    base_url: str
    api_key: str
    auth_header: str = AUTH_BEARER
    style: str = STYLE_V1

    # --- paths ------------------------------------------------------------------------------
    def _session(self, session_id: str) -> str:
        return quote(session_id, safe="")

    def start_request(self, session_id: str) -> tuple[str, dict[str, Any]]:
        if self.style == STYLE_SHORT:
            return "/sessions/start", {"tenantId": session_id}
        return f"/api/v1/sessions/{self._session(session_id)}/start", {}

    def status_path(self, session_id: str) -> str:
        if self.style == STYLE_SHORT:
            return f"/sessions/{self._session(session_id)}/status"
        return f"/api/v1/sessions/{self._session(session_id)}/status"

    def session_path(self, session_id: str) -> str:
        if self.style == STYLE_SHORT:
            return f"/sessions/{self._session(session_id)}"
        return f"/api/v1/sessions/{self._session(session_id)}"

    def send_request(self, session_id: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.style == STYLE_SHORT:
            return "/message/send", {"tenantId": session_id, **body}
        return f"/api/v1/messages/{self._session(session_id)}/send", body

    # --- calls ------------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            if self.auth_header == AUTH_X_API_KEY:
                headers[X_API_KEY_HEADER] = self.api_key
            else:
                headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def call(self, method: str, path: str, *, body: Mapping[str, Any] | None = None, sends: bool = False) -> Answer:
        """One request. `sends`: it sends a message, so a request that went out and got no answer
        may have been taken (ProviderOutcomeUnknown: never sent again on its own). Raises
        ProviderTemporaryError when the service cannot be reached."""
        if not self.base_url:
            raise ProviderPermanentError("No connection service address is configured for this channel.",
                                         code="not_configured")
        url = self.base_url.rstrip("/") + path
        headers = self.headers()
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(dict(body)).encode()
        timeout = urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1], total=TOTAL_TIMEOUT)
        try:
            response = _pool(url).request(method, url, body=data, headers=headers, timeout=timeout, retries=False,
                                          redirect=False)
        except (NewConnectionError, ConnectTimeoutError) as error:  # nothing went out
            raise ProviderUnreachableError(f"The connection service could not be reached: {type(error).__name__}") from None
        except (ReadTimeoutError, ProtocolError) as error:
            if sends:
                raise ProviderOutcomeUnknown(f"The connection service did not answer ({type(error).__name__}).",
                                             code="timeout") from None
            raise ProviderTemporaryError(f"The connection service did not answer ({type(error).__name__}).",
                                         code="timeout") from None
        except (HTTPError, OSError) as error:
            raise ProviderUnreachableError(f"The connection service could not be reached: {type(error).__name__}") from None
        try:
            parsed = json.loads(response.data) if response.data else {}
        except ValueError:
            parsed = {}
        return Answer(status=response.status, body=parsed if isinstance(parsed, dict) else {})


def answer_body(answer: Answer) -> dict[str, Any]:
    """The body of a successful answer; otherwise the contract's error for it: a refused key
    is ProviderAuthError, a refused request ProviderPermanentError with the service's words,
    a service in trouble ProviderTemporaryError (explanations in English, as a provider's own
    words are: they are stored with the message or the channel)."""
    status, reason = answer.status, answer.reason
    if status < 300 and answer.body.get("success") is not False:
        return answer.body
    if status in (401, 403):
        raise ProviderAuthError(f"The connection service refused the channel's API key ({reason or status}): an "
                                "administrator must update the channel.", code=f"http_{status}")
    if status == 429 or status >= 500:
        raise ProviderTemporaryError(reason or f"The connection service answered HTTP {status}.",
                                     code=f"http_{status}")
    if status < 300:  # {"success": false} with a 2xx: refused all the same
        raise ProviderPermanentError(reason or "The connection service refused the request.", code="refused")
    raise ProviderPermanentError(reason or f"The connection service answered HTTP {status}.", code=f"http_{status}")
