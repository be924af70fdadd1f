from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from accounts.access import TenantAccess


class IsTenantMember(BasePermission):
    """Authenticated for a tenant, and the role grants what the view's action needs.

    Views declare `required_permissions = {"list": "conversations:read", ...}` keyed by
    viewset action (or by lower-case HTTP method for plain views). An action a view does
    not list is refused: a new endpoint is closed until someone decides who may use it.
    """

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        access = request.auth
        if not isinstance(access, TenantAccess):
            return False
        required = getattr(view, "required_permissions", {})
        key = getattr(view, "action", None) or request.method.lower()
        if request.method == "OPTIONS" or not hasattr(view, request.method.lower()):
            return True  # the view answers 405 (or the OPTIONS metadata) itself
        permission = required.get(key)
        if permission is None:
            return False
        if not access.has(permission):
            self.message = (f"This API key ({access.api_key.scope}) does not allow {permission}."
                            if access.api_key is not None else f"Your role ({access.role}) does not allow {permission}.")
            return False
        return True
