from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation

from config.api.errors import error_body


class ApiBodySizeLimitMiddleware:
    """Refuses an API request (settings.API_PATH_PREFIXES) whose declared body is over
    API_MAX_BODY_BYTES (a provider's webhook there: WEBHOOK_MAX_BODY_BYTES) before anything reads
    it (413 with the API's error shape)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(settings.API_PATH_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse(error_body("bad_request", "Invalid Content-Length."), status=400)
            limit = (settings.WEBHOOK_MAX_BODY_BYTES if request.path.startswith(settings.API_WEBHOOK_PATH_PREFIXES)
                     else settings.API_MAX_BODY_BYTES)
            if length > limit:
                return JsonResponse(
                    error_body("payload_too_large", "The request body is too large.", {"max_bytes": limit}),
                    status=413,
                )
        return self.get_response(request)


class ApiLanguageMiddleware:
    """The API speaks English unless the client asks for another language with
    Accept-Language; the inbox follows its member's and tenant's choice instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(settings.API_PATH_PREFIXES) and not request.headers.get("Accept-Language"):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)
