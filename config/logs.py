"""What every log line carries, and what it never does.

- Context: the request id (the client's X-Request-ID when it is a sane one, else a new one,
  echoed in the response), the tenant, channel and message a line is about where known. Set
  with `log_context(...)` (contextvars: a request, a task, an event of the pipeline each see
  their own) and added to every record by `LogContextFilter`; the tenant comes from the tenant
  made current (tenants.scoping) when nothing more precise was set. Ids are the database's
  (those the log messages themselves name), not the public ones.
- Masking (`MaskingFilter`): phone numbers and email addresses in a message and its arguments
  are cut to what identifies nobody (`+5511***`, `jo***@…`). Message content and credentials
  are never passed to a logger in the first place (the code logs ids, codes and reasons).
- Format: LOG_FORMAT=json gives one JSON object a line (python-json-logger) with the fields
  above; LOG_FORMAT=console the plain line, for development."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("request_id", "tenant_id", "channel_id", "message_id")
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# A phone number: a + and 8 to 15 digits, maybe spaced or dashed (E.164 as people write it), or
# a bare run of 11 to 15 digits (a WhatsApp id, a number without its +; shorter runs are counts,
# ports and timestamps). Its first four digits are kept (country and area code), then ***.
_PHONE = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,20}\d(?![\w])|(?<![\w.-])\d{11,15}(?![\w-])")
_EMAIL = re.compile(r"\b([A-Za-z0-9])([A-Za-z0-9])?[A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")


# Secrets that may ride in a logged URL or header: a channel's webhook token (its URL's last
# part), a bearer token, a query parameter named like a credential.
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/[-a-zA-Z0-9_]+/)[^/\s?\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SECRET_PARAMETER = re.compile(
    r"(?i)\b((?:access_|api_|verify_|hub\.verify_)?(?:token|key|secret|password|signature)=)[^&\s\"']+")


def mask_personal_data(text: str) -> str:
    """Phones and email addresses in `text` cut short: "+5511987654321" → "+5511***",
    "joana@example.com" → "jo***@…"; webhook tokens, bearer tokens and credential parameters
    replaced by ***."""
    if "/webhooks/" in text:
        text = _WEBHOOK_TOKEN.sub(r"\1***", text)
    if "=" in text or "earer" in text:
        text = _SECRET_PARAMETER.sub(r"\1***", _BEARER.sub(r"\1***", text))
    if "@" in text:
        text = _EMAIL.sub(lambda match: f"{match[1]}{match[2] or ''}***@…", text)
    return _PHONE.sub(_phone_masked, text)


def _phone_masked(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match[0])
    if not 8 <= len(digits) <= 15:
        return match[0]
    return f"{'+' if match[0].startswith('+') else ''}{digits[:4]}***"


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return mask_personal_data(str(value))


class MaskingFilter(logging.Filter):
    """Masks phones and email addresses in a record's message and arguments (the message is
    formatted first, so a number split across arguments is still masked), and in its
    exception's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as logging does
            return True
        record.msg, record.args = mask_personal_data(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_personal_data(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        for name in ("detail", "error", "body"):
            if name in record.__dict__:
                setattr(record, name, _masked(record.__dict__[name]))
        return True


class LogContextFilter(logging.Filter):
    """Adds request_id, tenant_id, channel_id and message_id (None when unknown) to a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        if record.request_id is None:  # type: ignore[attr-defined]
            # Django logs a refused request's line once the middleware is done with it, with the request
            record.request_id = getattr(getattr(record, "request", None), "request_id", None)
        if record.tenant_id is None:  # type: ignore[attr-defined]
            record.tenant_id = _current_tenant_id()
        return True


def _current_tenant_id() -> int | None:
    from tenants.scoping import current_tenant

    tenant = current_tenant()
    return tenant.pk if tenant is not None else None


def log_context_get() -> dict[str, Any]:
    return dict(_context.get() or {})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Within the block, every log line carries these fields (request_id, tenant_id, channel_id,
    message_id) besides those set around it."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_set(**fields: Any) -> None:
    """Add fields to the context until it is reset (a request's middleware resets it)."""
    _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})


def request_id_for(request: HttpRequest) -> str:
    return request_id_from(request.headers.get(REQUEST_ID_HEADER, ""))


def request_id_from(given: str) -> str:
    """The id a client (or our proxy) gave in X-Request-ID when it is a sane one, else a new one."""
    return given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request its id (the client's X-Request-ID when it is one, else a new one),
    which every log line of the request carries and the response echoes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _context.set({"request_id": request_id})
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class _JsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return mask_personal_data(str(super().formatException(ei)))

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # What other code adds to a record (Django adds its request, whose text is the path with
        # a webhook's token) is masked too; the request itself is named by request_id.
        log_data.pop("request", None)
        return {key: mask_personal_data(value) if isinstance(value, str) and key != "time" else value
                for key, value in log_data.items()}


def json_formatter() -> logging.Formatter:
    """LOGGING's JSON formatter: a line per record, with the time in UTC (ISO 8601, Z), the level,
    the logger, the message and the context fields."""
    return _JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}{tenant_id}{channel_id}{message_id}", style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}, json_ensure_ascii=False,
    )
