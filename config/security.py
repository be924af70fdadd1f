"""The Content-Security-Policy of every page (django-csp, configured in settings), and the
endpoint that logs what browsers report against it."""

from __future__ import annotations

import json
import logging
from typing import Any

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.api.errors import error_body

logger = logging.getLogger("config.security")

# A report is about a kilobyte; the Reporting API batches a few.
CSP_REPORT_MAX_BYTES = 64 * 1024
# No report nests deeper than this (a batch: list → report → body → values).
_CSP_REPORT_MAX_DEPTH = 8
_REPORT_TYPES = ("application/csp-report", "application/reports+json", "application/json")
# What a line of the log keeps of a report, each value cut short: (report-uri key, Reporting API key).
_FIELDS = (
    ("document-uri", "documentURL"), ("effective-directive", "effectiveDirective"), ("blocked-uri", "blockedURL"),
    ("source-file", "sourceFile"), ("line-number", "lineNumber"), ("column-number", "columnNumber"),
    ("script-sample", "sample"), ("disposition", "disposition"),
)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with our own WebSocket origin (ws:// or wss:// and the host the
    page was served from) added to connect-src: 'self' covers it only in browsers that apply
    CSP Level 3's rule for WebSocket schemes."""

    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        configured = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only
                             else "CONTENT_SECURITY_POLICY", None) or {}
        if not configured.get("DIRECTIVES", {}).get("connect-src"):
            return parts  # connect-src falls back to default-src: adding to it would narrow that
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", ()), f"{'wss' if request.is_secure() else 'ws'}://{host}"]
        parts.update = update
        return parts


class _TooDeep(ValueError):
    pass


def _depth_checked(value: Any, depth: int = 0) -> Any:
    """`value` when it nests no deeper than a report does (iteratively: no recursion that a body drives)."""
    pending = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if level > _CSP_REPORT_MAX_DEPTH:
            raise _TooDeep
        if isinstance(item, dict):
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, level + 1) for child in item)
    return value


def _violations(document: Any) -> list[dict[str, Any]]:
    """The violations a report body holds: report-uri's {"csp-report": {...}}, or the Reporting
    API's list of reports (those of type csp-violation)."""
    if isinstance(document, dict) and isinstance(document.get("csp-report"), dict):
        report = document["csp-report"]
        violation = {key: report.get(key) for key, _ in _FIELDS}
        violation["effective-directive"] = violation["effective-directive"] or report.get("violated-directive")
        return [violation]
    if isinstance(document, list) and all(isinstance(report, dict) for report in document):
        return [{key: report["body"].get(name) for key, name in _FIELDS} for report in document
                if report.get("type") == "csp-violation" and isinstance(report.get("body"), dict)]
    raise ValueError("not a CSP report")


def _short(value: Any) -> str:
    return str(value)[:300] if value not in (None, "") else "-"


@csrf_exempt  # browsers post reports without our CSRF token (or cookie, often)
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Log each violation a browser reports (one WARNING line each), then 204. Bad input is a
    4xx in the API's error shape, never an error of ours."""
    content_type = request.content_type or ""
    if content_type not in _REPORT_TYPES:
        return JsonResponse(error_body("unsupported_media_type", f"Send one of {', '.join(_REPORT_TYPES)}."),
                            status=415)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = CSP_REPORT_MAX_BYTES + 1
    body = request.read(CSP_REPORT_MAX_BYTES + 1) if declared <= CSP_REPORT_MAX_BYTES else b""
    if declared > CSP_REPORT_MAX_BYTES or len(body) > CSP_REPORT_MAX_BYTES:
        return JsonResponse(error_body("payload_too_large", "A report is at most 64 KB.",
                                       {"max_bytes": CSP_REPORT_MAX_BYTES}), status=413)
    try:
        violations = _violations(_depth_checked(json.loads(body.decode("utf-8"))))
    except (ValueError, RecursionError):  # malformed, not UTF-8, too deep, not a report
        return JsonResponse(error_body("malformed_report", "The body is not a CSP violation report."), status=400)
    for violation in violations:
        logger.warning("CSP violation: %s", " ".join(f"{key}={_short(value)!r}" for key, value in violation.items()))
    return HttpResponse(status=204)
