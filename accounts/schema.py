"""How the API's authentication appears in the OpenAPI schema (loaded by AccountsConfig)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.api_keys import REFUSAL_CODES


class TenantJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TenantJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from POST /api/v1/auth/token (valid 5 minutes; refresh at /auth/refresh).",
        }


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TenantSessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The inbox's own session (browser calls, with the CSRF token)."}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = ["apiKeyBearer", "apiKeyHeader"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"apiKeyBearer": []}, {"apiKeyHeader": []}]  # either header, not both

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        refusals = "; ".join(f"`{code}`: {meaning}" for code, meaning in REFUSAL_CODES.items())
        description = ("A tenant's API key (Settings → API keys, or POST /api/v1/api-keys): `ik_live_…`, "
                       "read or read-write, optionally limited to channels. A key that does not authenticate "
                       f"is a 401 with `error.code` one of: {refusals}. A key limited to channels cannot start "
                       "a contacts export (403 `api_key_channels_export`).")
        return [{"type": "http", "scheme": "bearer", "bearerFormat": "ik_live_…", "description": description},
                {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": description}]
