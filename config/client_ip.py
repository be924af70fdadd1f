"""The client's address, for the rate limits and the login lockouts.

The peer of the connection (REMOTE_ADDR), unless that peer is one of our own proxies
(settings.TRUSTED_PROXIES: addresses or networks): then the address our outermost proxy saw,
which is the last one in X-Forwarded-For that is not one of our proxies. Anything a client
writes in X-Forwarded-For itself sits to the left of that and is never believed. With no
trusted proxy (the default) the header is ignored altogether.

The ASGI server may rewrite the peer from the same header first (uvicorn's
--forwarded-allow-ips): given the same list, both agree, because a client's address is not a
proxy's."""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@cache
def trusted_proxies() -> tuple[Network, ...]:
    networks = []
    for entry in settings.TRUSTED_PROXIES:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an address or a network (a proxy must be named; '*' is refused)"
            ) from None
    return tuple(networks)


def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: Address) -> bool:
    return any(address in network for network in trusted_proxies())


def client_ip(request: Any) -> str:
    """The client's address as a string (normalised; REMOTE_ADDR as it is when it is no address)."""
    peer = request.META.get("REMOTE_ADDR", "")
    address = _address(peer)
    if address is None or not trusted_proxies() or not _trusted(address):
        return str(address) if address is not None else peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        found = _address(hop)
        if found is None:
            break  # none of our proxies wrote that: stop at the last hop we can vouch for
        address = found
        if not _trusted(found):
            break
    return str(address)


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "TRUSTED_PROXIES":
        trusted_proxies.cache_clear()


setting_changed.connect(_forget)
