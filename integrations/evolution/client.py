"""Calls to an Evolution API server: one request each, with timeouts, never retried here (the
pipeline decides), and its answers and failures in the adapter contract's errors.

urllib3 directly, as the WhatsApp Cloud adapter does (already a dependency, typed, keep-alive
pools shared by a process's threads); requests would add a dependency for nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from integrations.base import (
    ProviderAuthError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTemporaryError,
    ProviderUnreachableError,
)
from integrations.http import Pools

API_KEY_HEADER = "apikey"
# (connect, read) seconds, and the most one call may take: less than the pipeline's claim on a
# reply (OUTBOUND_SEND_LEASE_SECONDS, 30 s). Creating an instance waits for its first QR code
# (Evolution sleeps ~5 s for it) and a media download goes through WhatsApp's servers: longer.
TIMEOUT = (3.05, 20.0)
TOTAL_TIMEOUT = 25.0
SLOW_TIMEOUT = (3.05, 60.0)
# Evolution 2.4's licence gate: every business endpoint answers 503 with this code until the
# server is activated (evolution-foundation/evolution-api src/licensing/runtime.ts).
LICENSE_REQUIRED = "LICENSE_REQUIRED"

# Keep-alive connections to each server (integrations.http).
_pool = Pools(maxsize=8)


@dataclass(frozen=True)
class Answer:
    """What the server answered: its HTTP status and its JSON body ({} when it had none)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 300

    @property
    def messages(self) -> list[Any]:
        """Evolution's error details: {"response": {"message": [...]}} (or a bare message)."""
        body = self.body if isinstance(self.body, dict) else {}
        response = body.get("response")
        found = response.get("message") if isinstance(response, dict) else body.get("message")
        if found is None:
            return []
        return list(found) if isinstance(found, list) else [found]

    @property
    def text(self) -> str:
        """The error details as one sentence."""
        return "; ".join(str(item) for item in self.messages if isinstance(item, str))[:400]

    @property
    def license_required(self) -> bool:
        return self.status == 503 and isinstance(self.body, dict) and self.body.get("code") == LICENSE_REQUIRED

    @property
    def not_on_whatsapp(self) -> list[str]:
        """The numbers a send was refused for because they have no WhatsApp account."""
        return [str(item.get("number") or item.get("jid") or "") for item in self.messages
                if isinstance(item, dict) and item.get("exists") is False]


@dataclass(frozen=True)
class EvolutionServer:
    """One Evolution API server, and the key a call authenticates with."""

    base_url: str
    api_key: str

    def url(self, path: str, **query: str) -> str:
        quoted = "/".join(quote(part, safe="") for part in path.strip("/").split("/"))
        extra = urlencode({name: value for name, value in query.items() if value})
        return f"{self.base_url.rstrip('/')}/{quoted}" + (f"?{extra}" if extra else "")

    def call(self, method: str, path: str, *, body: Any = None, query: Mapping[str, str] | None = None,
             sends: bool = False, timeout: tuple[float, float] | None = None) -> Answer:
        """One request. `sends`: it sends a message, so a request that went out and got no
        answer may have been taken (ProviderOutcomeUnknown, never sent again on its own).
        Raises ProviderTemporaryError when the server cannot be reached."""
        headers = {API_KEY_HEADER: self.api_key, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        connect, read = timeout or TIMEOUT
        limit = urllib3.Timeout(connect=connect, read=read, total=TOTAL_TIMEOUT if timeout is None else None)
        url = self.url(path, **dict(query or {}))
        try:
            response = _pool(url).request(method, url, body=data, headers=headers, timeout=limit, retries=False,
                                          redirect=False)
        except (NewConnectionError, ConnectTimeoutError) as error:  # nothing went out
            raise ProviderUnreachableError(f"Evolution API could not be reached: {type(error).__name__}") from None
        except (ReadTimeoutError, ProtocolError) as error:
            if sends:
                raise ProviderOutcomeUnknown(f"Evolution API did not answer ({type(error).__name__}).",
                                             code="timeout") from None
            raise ProviderTemporaryError(f"Evolution API did not answer ({type(error).__name__}).",
                                         code="timeout") from None
        except (HTTPError, OSError) as error:
            raise ProviderUnreachableError(f"Evolution API could not be reached: {type(error).__name__}") from None
        try:
            parsed = json.loads(response.data) if response.data else {}
        except ValueError:
            parsed = {}
        return Answer(status=response.status, body=parsed)


def raise_for_answer(answer: Answer) -> Any:
    """The body of a successful answer; otherwise the contract's error for it, with words an
    agent or admin can act on (provider explanations stay in English, as the provider's own
    words do: they are stored with the message or the channel)."""
    if answer.ok:
        return answer.body
    status, detail = answer.status, answer.text
    if status == 400 and answer.not_on_whatsapp:
        numbers = ", ".join(number for number in answer.not_on_whatsapp if number)
        raise ProviderPermanentError(f"This number has no WhatsApp account ({numbers}).", code="not_on_whatsapp")
    if status == 400:
        raise ProviderPermanentError(detail or "Evolution API refused the request.", code="bad_request")
    if status in (401, 403):
        raise ProviderAuthError("Evolution API refused the channel's key: an administrator must connect the "
                                "channel again.", code="unauthorized" if status == 401 else "forbidden")
    if status == 404:
        if "does not exist" in detail:
            raise ProviderAuthError("The channel's instance no longer exists on the Evolution API server: an "
                                    "administrator must connect the channel again.", code="instance_not_found")
        raise ProviderAuthError(f"The Evolution API server does not have this endpoint ({detail or 'HTTP 404'}): "
                                "check the server's address.", code="not_found")
    if answer.license_required:
        raise ProviderAuthError("The Evolution API server is not activated: its administrator must activate its "
                                "licence (Evolution 2.4 and later) before it sends or receives anything.",
                                code="license_required")
    if status == 429 or status >= 500:
        raise ProviderTemporaryError(detail or f"Evolution API answered HTTP {status}.", code=f"http_{status}")
    raise ProviderPermanentError(detail or f"Evolution API answered HTTP {status}.", code=f"http_{status}")
