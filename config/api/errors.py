"""One JSON shape for every API error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.api.exceptions import PayloadTooLarge
from config.errors import ApplicationError, ValidationFailed

_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_json",
    exceptions.Throttled: "rate_limited",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten_message(detail: Any) -> str:
    if isinstance(detail, dict):
        first = next(iter(detail.values()), "")
        return _flatten_message(first)
    if isinstance(detail, list):
        return _flatten_message(detail[0]) if detail else ""
    return str(detail)


def _only_unknown_references(detail: Any) -> bool:
    """Whether every error of a validation error is an id that names nothing (the client's
    or another tenant's): well-formed input, refused for what it names."""
    codes: list[Any] = []
    pending = [detail]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        else:
            codes.append(getattr(item, "code", None))
    return bool(codes) and all(code == "does_not_exist" for code in codes)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()

    if isinstance(exc, ApplicationError):
        set_rollback()
        # A service's refusal of well-formed input is the API's 422 (the inbox's pages answer 400).
        status = 422 if isinstance(exc, ValidationFailed) else exc.status_code
        return Response(error_body(exc.code, exc.message, exc.details), status=status)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer 500

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))  # type: ignore[attr-defined]

    code = _CODES.get(type(exc))
    status = exc.status_code
    if isinstance(exc, exceptions.ValidationError) and _only_unknown_references(exc.detail):
        status = 422  # the input has the schema's shape; what it names is not there
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = _flatten_message(details)
        field = next(iter(details), "")
        message = f"{field}: {first}" if field and field != "non_field_errors" else (first or "Invalid input.")
    else:
        details = exc.detail if isinstance(exc.detail, dict) else {}
        message = _flatten_message(exc.detail)
        if code is None:
            detail_code = getattr(exc.detail, "code", None)
            code = detail_code if isinstance(detail_code, str) else exc.default_code
            if isinstance(exc.detail, dict) and "code" in exc.detail:
                code = str(exc.detail["code"])
                details = {k: v for k, v in exc.detail.items() if k not in ("code", "detail")}
                message = _flatten_message(exc.detail.get("detail", message))
    set_rollback()
    return Response(error_body(code or "error", message, details), status=status, headers=headers)


@csrf_exempt  # changes nothing, and answers every method with the API's JSON (not Django's CSRF page)
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


def json_server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Something went wrong on our side; it was logged."), status=500)


# Paths machines call (integrators, providers, browsers' reports): their 500 stays JSON.
_MACHINE_PATHS = ("/api/", "/webhooks/", "/csp-report/")


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """A 500: the API's JSON for machines, the design system's page (500.html) for people."""
    wants_page = "text/html" in request.headers.get("Accept", "") and not request.headers.get("HX-Request")
    if request.path.startswith(_MACHINE_PATHS) or not wants_page:
        return json_server_error(request)
    return defaults.server_error(request)
