"""API authentication: access JWTs (integrators) and the inbox session (agents' browsers).

Both load the user's *current* membership on every request, so a removed member or a
changed role stops working at once, whatever token they still hold, and both make the
request's tenant current for the scoped managers. A token whose login session was revoked,
or issued under a password since changed, is refused too (accounts.tokens)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.access import (
    TenantAccess,
    tenant_access_require_operational,
    tenant_access_resolve,
    tenant_access_resolve_public,
    token_ids,
)
from accounts.api_keys import ApiKeyRefused, api_key_authenticate, is_api_key
from accounts.models import Membership
from accounts.tokens import token_refusal
from accounts.two_factor import SESSION_KEY, VERIFIED, token_two_factor_missing
from tenants.scoping import activate_tenant

SESSION_TENANT_KEY = "tenant_id"
_TWO_FACTOR_REQUIRED = _("This account requires two-factor login: log in again with its code.")


class TenantJWTAuthentication(JWTAuthentication):
    www_authenticate_realm = "api"

    def authenticate(self, request: Any) -> tuple[Any, TenantAccess] | None:
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None or is_api_key(raw_token.decode(errors="replace")):
            return None  # an API key is ApiKeyAuthentication's
        token = self.get_validated_token(raw_token)
        ids, role = token_ids(token), token.get("role")
        if ids is None or role is None:
            raise InvalidToken(_("Token has no tenant claims."))
        access = tenant_access_resolve_public(user_id=ids[0], tenant_id=ids[1])
        if access is None:
            raise exceptions.AuthenticationFailed(_("You are no longer a member of this account."), code="membership_revoked")
        if access.role != role:
            raise exceptions.AuthenticationFailed(
                _("Your role changed; refresh your token to continue."), code="token_stale"
            )
        refused = token_refusal(token, access.user)
        if refused is not None:
            raise exceptions.AuthenticationFailed(refused[1], code=refused[0])
        if token_two_factor_missing(token=token, tenant=access.tenant):
            raise exceptions.AuthenticationFailed(_TWO_FACTOR_REQUIRED, code="two_factor_required")
        tenant_access_require_operational(access)
        activate_tenant(access.tenant)
        return access.user, TenantAccess(user=access.user, tenant=access.tenant, role=access.role, token=token)


class ApiKeyAuthentication(BaseAuthentication):
    """A tenant's API key (accounts.api_keys), as `Authorization: Bearer ik_live_…` or
    `X-API-Key: ik_live_…`. Found by its prefix, so a JWT in the same header is left to
    TenantJWTAuthentication."""

    def authenticate(self, request: Any) -> tuple[Any, TenantAccess] | None:
        key = request.META.get("HTTP_X_API_KEY", "").strip()
        if not key:
            scheme, _space, credential = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
            if scheme.lower() != "bearer" or not is_api_key(credential.strip()):
                return None
            key = credential.strip()
        try:
            access = api_key_authenticate(key=key)
        except ApiKeyRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message, code=refused.code) from None
        tenant_access_require_operational(access)
        activate_tenant(access.tenant)
        return access.user, access

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class TenantSessionAuthentication(SessionAuthentication):
    """The inbox's own calls: the session's user, in the tenant chosen at login."""

    def authenticate(self, request: Any) -> tuple[Any, TenantAccess] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        tenant_id = request._request.session.get(SESSION_TENANT_KEY)
        if tenant_id is None:
            tenant_ids = list(Membership.all_objects.filter(user=user, is_active=True).values_list("tenant_id", flat=True)[:2])
            if len(tenant_ids) != 1:
                raise exceptions.AuthenticationFailed(_("Choose an account first."), code="tenant_required")
            tenant_id = tenant_ids[0]
        access = tenant_access_resolve(user_id=user.pk, tenant_id=tenant_id)
        if access is None:
            raise exceptions.AuthenticationFailed(_("You are no longer a member of this account."), code="membership_revoked")
        if access.tenant.two_factor_required and request._request.session.get(SESSION_KEY) != VERIFIED:
            raise exceptions.PermissionDenied(_TWO_FACTOR_REQUIRED, code="two_factor_required")
        tenant_access_require_operational(access)
        activate_tenant(access.tenant)
        return access.user, access
