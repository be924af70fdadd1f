"""CORS for /api/: which browser origins may call the API (django-cors-headers does the
protocol; this says who).

Two lists allow an origin: the operator's (`CORS_ALLOWED_ORIGINS` in the environment, every
tenant's API) and each tenant's own (`Tenant.settings["cors_origins"]`, set by its
administrators on Settings → Security). A preflight carries no credentials, so the tenant is not
known yet: it is answered for an origin that any tenant lists. The request that follows is
authenticated, and its answer carries the CORS headers only if its tenant lists the origin (or
the operator does): a browser page of tenant A's origin cannot read tenant B's answers with a
key or token of B. Answers that name no tenant (errors before authentication, the token
endpoint) are readable by any listed origin: they hold nothing of a tenant's.

No credentials (cookies) are ever allowed cross-origin: the API is called with a JWT or an
API key in a header, so the inbox's session cannot be ridden from another site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache
from django.http import HttpRequest

from tenants.models import Tenant

SETTINGS_KEY = "cors_origins"
_CACHE_KEY = "cors:tenant-origins"
_CACHE_SECONDS = 60
API_PREFIX = "/api/"


def origin_normalise(value: str) -> str | None:
    """`scheme://host[:port]` in lower case, or None if `value` is not an http(s) origin (a
    path, a query, credentials or a wildcard are refused: an origin is exact)."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "*" in value:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port else "")


def tenant_cors_origins(tenant: Tenant) -> list[str]:
    origins = (tenant.settings or {}).get(SETTINGS_KEY) or []
    return [origin for origin in origins if isinstance(origin, str)]


def tenants_cors_origins() -> frozenset[str]:
    """Every origin some tenant lists (cached a minute; cleared when a tenant changes its list)."""
    found = cache.get(_CACHE_KEY)
    if found is None:
        found = sorted({origin for settings in Tenant.objects.filter(settings__has_key=SETTINGS_KEY)
                        .values_list("settings", flat=True) for origin in tenant_cors_origins(Tenant(settings=settings))})
        cache.set(_CACHE_KEY, found, _CACHE_SECONDS)
    return frozenset(found)


def tenants_cors_origins_forget() -> None:
    cache.delete(_CACHE_KEY)


def cors_request_allowed(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    """django-cors-headers' check_request_enabled: whether this API request's origin is one a
    tenant allows (the operator's list is the library's own CORS_ALLOWED_ORIGINS)."""
    if not request.path_info.startswith(API_PREFIX):
        return False
    origin = origin_normalise(request.headers.get("origin", ""))
    if origin is None or origin not in tenants_cors_origins():
        return False
    tenant = getattr(getattr(request, "auth", None), "tenant", None)
    if isinstance(tenant, Tenant):
        return origin in tenant_cors_origins(tenant)
    return True
