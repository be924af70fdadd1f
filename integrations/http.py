"""Keep-alive HTTP connections to providers, shared by a process's threads (urllib3 itself:
requests costs as much CPU again on every call). One pool per scheme and host, with the
environment's proxy (HTTPS_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE;
certifi's otherwise), read once per host as requests would read them on every call.

A server whose address a tenant typed (their own gateway or connection service) is called
through connections that resolve its name themselves each time one opens and connect only to
an address on the internet (`public_only`): the check made when the channel was connected
(integrations.base.tenant_server_refused) cannot be undone by a name that later resolves to a
private address. Through a proxy the proxy resolves, and its own rules apply."""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.connection import create_connection

from config.net import address_is_public, host_addresses
from integrations.base import (
    ProviderAuthError,
    ProviderOutcomeUnknown,
    ProviderTemporaryError,
    ProviderUnreachableError,
)


class PrivateAddressRefused(NewConnectionError):
    """The server's name resolved to an address that is not on the internet: not connected."""


class _PublicOnly(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        try:
            addresses = host_addresses(self._dns_host, self.port)
        except OSError as error:
            raise NewConnectionError(self, f"Failed to resolve {self.host}: {error}") from error
        if not all(address_is_public(address) for address in addresses):
            raise PrivateAddressRefused(self, f"{self.host} resolves to an address that is not on the internet")
        try:  # to the very address checked, not to what the name resolves to a moment later
            return create_connection((addresses[0], self.port), self.timeout, source_address=self.source_address,
                                     socket_options=self.socket_options)
        except OSError as error:
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


class _PublicOnlyHTTPS(_PublicOnly, HTTPSConnection):
    pass


class _PublicOnlyPool(HTTPConnectionPool):
    ConnectionCls = _PublicOnly


class _PublicOnlyHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicOnlyHTTPS


class Pools:
    """The pools of one provider package (each keeps its own, sized for its traffic)."""

    def __init__(self, *, maxsize: int) -> None:
        self.maxsize = maxsize
        self.by_host: dict[tuple[str, str, bool], urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, *, public_only: bool = False, allow_private: bool | None = None) -> urllib3.PoolManager:
        """The pool for `url`'s host; `public_only`: a host a tenant typed (see above), unless
        `allow_private` (by default PROVIDER_URL_ALLOW_PRIVATE: development, tests)."""
        parts = urlsplit(url)
        if allow_private is None:
            allow_private = settings.PROVIDER_URL_ALLOW_PRIVATE
        public_only = public_only and not allow_private
        key = (parts.scheme, parts.netloc, public_only)
        pool = self.by_host.get(key)
        if pool is None:
            with self._lock:
                pool = self.by_host.get(key)
                if pool is None:
                    ca_certs = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                                or certifi.where())
                    proxy = urllib.request.getproxies().get(parts.scheme)
                    bypass = urllib.request.proxy_bypass(parts.hostname or "") if proxy else True
                    pool = (urllib3.ProxyManager(proxy, ca_certs=ca_certs, maxsize=self.maxsize)
                            if proxy and not bypass else urllib3.PoolManager(ca_certs=ca_certs, maxsize=self.maxsize))
                    if public_only and not isinstance(pool, urllib3.ProxyManager):
                        pool.pool_classes_by_scheme = {"http": _PublicOnlyPool, "https": _PublicOnlyHTTPSPool}
                    self.by_host[key] = pool
        return pool


def unreachable_reason(error: BaseException) -> str:
    """Why a server could not be reached, in a few plain words (for logs and "Details"): not
    urllib3's text, which names objects and addresses in memory."""
    if isinstance(error, NameResolutionError):
        return "its name does not resolve"
    if "refused" in str(error).lower():
        return "connection refused"
    if isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError):  # (its subclass)
        return "connection timed out"
    return type(error).__name__


def json_call(pools: Pools, method: str, url: str, *, body: Any = None, headers: dict[str, str],
              timeout: urllib3.Timeout, sends: bool, public_only: bool, who: str) -> tuple[int, Any]:
    """One JSON request to a provider, never retried nor redirected here (the pipeline decides):
    its status and parsed body ({} when it had none or no JSON), or the contract's error, `who`
    (e.g. "The connection service") named in its words. `sends`: it sends a message, so a
    request that went out and got no answer may have been taken (ProviderOutcomeUnknown, never
    sent again on its own); a server that cannot be reached is ProviderUnreachableError."""
    headers = {"Accept": "application/json", **headers}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    try:
        response = pools(url, public_only=public_only).request(method, url, body=data, headers=headers,
                                                               timeout=timeout, retries=False, redirect=False)
    except PrivateAddressRefused:
        raise ProviderAuthError(f"{who}'s address now leads to a private network: an administrator must give its "
                                "public address.", code="private_address") from None
    except (NewConnectionError, ConnectTimeoutError) as error:  # nothing went out
        raise ProviderUnreachableError(f"{who} could not be reached ({unreachable_reason(error)})") from None
    except (ReadTimeoutError, ProtocolError) as error:
        unanswered = ProviderOutcomeUnknown if sends else ProviderTemporaryError
        raise unanswered(f"{who} did not answer ({type(error).__name__}).", code="timeout") from None
    except (HTTPError, OSError) as error:
        raise ProviderUnreachableError(f"{who} could not be reached ({unreachable_reason(error)})") from None
    try:
        return response.status, (json.loads(response.data) if response.data else {})
    except ValueError:
        return response.status, {}
