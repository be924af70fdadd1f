"""GET /metrics (Prometheus' text format), and the middleware that counts Django's requests.

/metrics is off (404) unless METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set. With a token,
a scrape must send `Authorization: Bearer <token>` (401 otherwise); with networks (CIDRs), it must
come from one of them (the client's address as config.client_ip reads it: 403 otherwise); with
both, both hold."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET

from config.client_ip import Network, client_ip
from config.metrics import CONTENT_TYPE, http_request_count, metrics_exposition


class RequestMetricsMiddleware:
    """Counts each request Django answers and how long it took, by method, route name (the URL
    pattern's name, not the path: ids would make every URL a series of its own) and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route or "unnamed") if match is not None else "unmatched"
        http_request_count(method=request.method or "", route=route, status=response.status_code,
                           seconds=time.perf_counter() - started)
        return response


@cache
def allowed_networks() -> tuple[Network, ...]:
    networks = []
    for entry in settings.METRICS_ALLOWED_NETWORKS:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {entry!r} is not an address or a network") from None
    return tuple(networks)


def _forget(*, setting: str, **kwargs: object) -> None:
    if setting == "METRICS_ALLOWED_NETWORKS":
        allowed_networks.cache_clear()


setting_changed.connect(_forget)


def _from_allowed_network(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in allowed_networks())


def _bearer_ok(request: HttpRequest) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and constant_time_compare(given.strip(), settings.METRICS_TOKEN)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if settings.METRICS_ALLOWED_NETWORKS and not _from_allowed_network(request):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    if settings.METRICS_TOKEN and not _bearer_ok(request):
        return HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE)
