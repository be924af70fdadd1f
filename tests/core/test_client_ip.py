"""config.client_ip: X-Forwarded-For is believed from our own proxies only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from config.client_ip import client_ip


def _ip(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []

    assert _ip("198.51.100.1", "203.0.113.5") == "198.51.100.1"


def test_through_trusted_proxies_the_last_untrusted_hop_is_the_client(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::1"]

    assert _ip("10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.9") == "203.0.113.5"  # what a client wrote is left of it
    assert _ip("2001:db8:0::1", "203.0.113.6") == "203.0.113.6"
    assert _ip("10.0.0.2", "") == "10.0.0.2"
    assert _ip("10.0.0.2", "not-an-address") == "10.0.0.2"
    assert _ip("198.51.100.1", "203.0.113.5") == "198.51.100.1"  # not one of ours: its header is ignored


def test_a_wildcard_is_refused(settings: Any, rf: RequestFactory) -> None:
    settings.TRUSTED_PROXIES = ["*"]

    with pytest.raises(ImproperlyConfigured):
        _ip("10.0.0.2", "203.0.113.5")
