"""Whether a host is on the public internet: every address its name resolves to is global
(no loopback, private, link-local, cloud-metadata, shared or reserved range, IPv4-mapped
included). What the server fetches or calls at an address a user typed must be."""

from __future__ import annotations

import ipaddress
import socket


def address_is_public(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    parsed = getattr(parsed, "ipv4_mapped", None) or parsed
    return parsed.is_global and not parsed.is_multicast


def host_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (raises OSError when it resolves to none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def url_host_is_public(url: str) -> bool:
    """Whether the host of `url` resolves, and only to public addresses."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return bool(parts.hostname) and all(address_is_public(ip) for ip in host_addresses(parts.hostname, port))
    except (OSError, ValueError, UnicodeError):
        return False
