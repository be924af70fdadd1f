"""The application's one error type. Services raise it; the API renders it as
`{"error": {"code", "message", "details"}}` with its HTTP status."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}
        if status_code is not None:
            self.status_code = status_code


class ValidationFailed(ApplicationError):
    """Input that is well-formed but not acceptable; `details` maps field → messages."""

    status_code = 400
    default_code = "validation_error"


class PermissionDeniedError(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class NotFoundError(ApplicationError):
    status_code = 404
    default_code = "not_found"


class ConflictError(ApplicationError):
    status_code = 409
    default_code = "conflict"


class PlanLimitExceeded(ApplicationError):
    status_code = 403
    default_code = "plan_limit_exceeded"


class TenantNotOperational(ApplicationError):
    status_code = 403
    default_code = "tenant_suspended"
