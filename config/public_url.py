"""Where providers and people reach this installation: PUBLIC_BASE_URL when it is set, else
the address the current request came to (the port `runserver` actually serves), else the
embedded default. Channels' webhook URLs and the demo's links are built from it."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
_requested: ContextVar[str] = ContextVar("requested_base_url", default="")


def public_base_url() -> str:
    return settings.PUBLIC_BASE_URL or _requested.get() or DEFAULT_PUBLIC_BASE_URL


class RequestBaseUrlMiddleware:
    """Remembers, for the request's duration, the address it came to (its host is one of
    ALLOWED_HOSTS by then: Django refuses others)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.PUBLIC_BASE_URL:
            return self.get_response(request)
        token = _requested.set(f"{request.scheme}://{request.get_host()}")
        try:
            return self.get_response(request)
        finally:
            _requested.reset(token)
