from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class _ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: validation_error, not_found, rate_limited...")
    message = serializers.CharField(help_text="For people; says which field when one is wrong.")
    details = serializers.DictField(help_text="Per field messages for validation errors; other context otherwise.")


class Error(serializers.Serializer):
    error = _ErrorBody()


_ERRORS = {
    "400": "Invalid input: malformed JSON, or a field that is wrong (named in details).",
    "401": "Not authenticated, or the token expired, was revoked or is stale.",
    "403": "Your role does not allow this, a plan limit was reached, or the account is suspended.",
    "404": "No such resource in your account.",
    "413": "The request body is too large.",
    "429": "Rate limit reached; retry after the Retry-After seconds.",
}


class AutoSchema(BaseAutoSchema):
    """Documents the error responses every authenticated endpoint can give, in the one
    error shape, next to its successful ones."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        if not self.path.startswith("/api/v1/"):
            return bodies
        for code, description in _ERRORS.items():
            if code not in bodies:
                bodies[code] = self._get_response_for_code(OpenApiResponse(Error, description=description), code)
        return bodies
