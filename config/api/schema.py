from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from config.api.serializers import (
    DATETIME_PATTERN,
    NO_NUL_PATTERN,
    NOT_BLANK_NO_NUL_PATTERN,
    NOT_BLANK_PATTERN,
    UUID_PATTERN,
)

_FORMAT_PATTERNS = {"date-time": DATETIME_PATTERN, "uuid": UUID_PATTERN}


class _ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: validation_error, not_found, rate_limited...")
    message = serializers.CharField(help_text="For people; says which field when one is wrong.")
    details = serializers.DictField(help_text="Per field messages for validation errors; other context otherwise.")


class Error(serializers.Serializer):
    error = _ErrorBody()


_ERRORS = {
    "400": "Input that disagrees with this schema: malformed or too deeply nested JSON, a field of the wrong "
           "type, format or length (named in details).",
    "401": "Not authenticated, or the token expired, was revoked or is stale; an API key's refusals "
           "(`api_key_invalid`, `api_key_revoked`, `api_key_expired`, `api_key_creator_inactive`) are told "
           "under its security scheme.",
    "403": "Your role does not allow this, a plan limit was reached, or the account is suspended.",
    "404": "No such resource in your account.",
    "409": "The resource's state does not allow this now (e.g. only a failed reply can be sent again).",
    "422": "Well-formed (as this schema says) but refused for what it means: an id that names nothing in your "
           "account, a phone that is no phone number, a rule of the channel or of its provider (named in details).",
    "413": "The request body is too large.",
    "429": "Rate limit reached; retry after the Retry-After seconds.",
}


class AutoSchema(BaseAutoSchema):
    """Documents the error responses every authenticated endpoint can give, in the one
    error shape, next to its successful ones."""

    def documents_api_errors(self) -> bool:
        """Whether the operation answers with the API's errors: those under /api/v1/ (not
        GET /api/health); a view of the API elsewhere says so with a subclass."""
        return self.path.startswith("/api/v1/")

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        if not self.documents_api_errors():
            return bodies
        for code, description in _ERRORS.items():
            if code not in bodies:
                bodies[code] = self._get_response_for_code(OpenApiResponse(Error, description=description), code)
        return bodies


def strings_without_nul(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook (SPECTACULAR_SETTINGS): every free-form string a client sends, in a
    request body or a query parameter, says that it holds no NUL character (the API refuses one:
    PostgreSQL cannot store it), and date-times and UUIDs say how they are written (the formats
    alone leave it to each tool)."""
    schemas = result.get("components", {}).get("schemas", {})
    pending: list[Any] = [schema for name, schema in schemas.items() if name.endswith("Request")]
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict):
                pending.extend(parameter.get("schema") for parameter in operation.get("parameters", [])
                               if parameter.get("in") == "query")
    while pending:
        schema = pending.pop()
        if not isinstance(schema, dict):
            continue
        types = schema.get("type")
        if schema.get("pattern") == NOT_BLANK_PATTERN:
            schema["pattern"] = NOT_BLANK_NO_NUL_PATTERN
        if (types == "string" or (isinstance(types, list) and "string" in types)) and "pattern" not in schema:
            if schema.get("format") in _FORMAT_PATTERNS:  # what generators of "valid" data must respect too
                schema["pattern"] = _FORMAT_PATTERNS[schema["format"]]
            elif not {"format", "enum"} & schema.keys():
                schema["pattern"] = NO_NUL_PATTERN
        pending.extend((schema.get("properties") or {}).values())
        pending.extend(schema.get(key) for key in ("items", "additionalProperties"))
        for key in ("allOf", "anyOf", "oneOf"):
            pending.extend(schema.get(key) or [])
    return result
