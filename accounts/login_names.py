"""The account a login attempt names (a leaf: the login and the audit log read it, and the
audit log is read by what the login imports)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def login_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The account a login attempt names, as axes counts it: lower-case, whichever field the
    door calls it (`email` here and in the API, `username` in Django admin's form)."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None:
        data = getattr(request, "POST", {})
        value = data.get("email") or data.get("username")
    return value.strip().lower()[:255] if isinstance(value, str) else None
