"""Who is acting, for which tenant, with which role: resolved once per request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import ApiKey, Membership, Role, User
from accounts.roles import ROLES_SEEING_ALL_CHANNELS, api_key_scope_has_permission, role_has_permission
from config.errors import TenantNotOperational
from config.ids import uuid_or_none
from tenants.models import Tenant

# The role an API key's access carries (it is no member's role: its scope says what it may do).
API_KEY_ROLE = "API_KEY"


@dataclass(frozen=True)
class TenantAccess:
    user: User
    tenant: Tenant
    role: str
    token: Any = field(default=None, compare=False, repr=False)
    # The API key that authenticated the request, if one did: then `user` is the administrator
    # who made it (who the key acts as), `role` is API_KEY_ROLE, and the key's scope and
    # channels, not a role, say what it may do and see.
    api_key: ApiKey | None = field(default=None, compare=False, repr=False)
    # What selectors derive from this access and would otherwise read again in the same request
    # (the member's channels: each list and count of the inbox's page filters by them). An access
    # lives as long as one request; a socket resolves a new one on every access event.
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def tenant_id(self) -> int:
        return self.tenant.pk

    def has(self, permission: str) -> bool:
        if self.api_key is not None:
            return api_key_scope_has_permission(self.api_key.scope, permission)
        return role_has_permission(self.role, permission)

    @property
    def reads_audit_log(self) -> bool:
        return self.has("audit:read")

    @property
    def can_read_members(self) -> bool:
        return self.has("users:read")

    @property
    def can_change_members(self) -> bool:
        return self.has("users:write")

    @property
    def has_tenant_settings(self) -> bool:
        return self.has("tenant:settings")

    @property
    def sees_all_channels(self) -> bool:
        if self.api_key is not None:
            return not self.api_key.channel_ids
        return self.role in ROLES_SEEING_ALL_CHANNELS

    @property
    def key_channel_ids(self) -> list[str] | None:
        """The public ids of the channels the request's API key is limited to (None: not a key,
        or a key on every channel)."""
        if self.api_key is None or not self.api_key.channel_ids:
            return None
        return [str(channel_id) for channel_id in self.api_key.channel_ids]


def tenant_access_resolve(*, user_id: Any, tenant_id: Any) -> TenantAccess | None:
    """The user's current access to the tenant (by their primary keys: the session's; one
    query), or None if they have none.

    A deactivated member has none (their sessions, tokens and sockets stop at once).
    Platform superusers act as SUPER_ADMIN in any tenant."""
    return _access(key="pk", user=user_id, tenant=tenant_id)


def tenant_access_resolve_public(*, user_id: uuid.UUID, tenant_id: uuid.UUID) -> TenantAccess | None:
    """tenant_access_resolve by the user's and the tenant's public ids (a JWT's claims)."""
    return _access(key="public_id", user=user_id, tenant=tenant_id)


def token_ids(claims: Any) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The public ids of the user and the tenant a JWT's claims (a token, or a mapping) name;
    None when it names none (a token of another kind, or of a version whose claims were
    integers)."""
    user_id, tenant_id = uuid_or_none(claims.get("user_id")), uuid_or_none(claims.get("tenant_id"))
    return (user_id, tenant_id) if user_id is not None and tenant_id is not None else None


def _access(*, key: str, user: Any, tenant: Any) -> TenantAccess | None:
    membership = (
        Membership.all_objects.select_related("user", "tenant")
        .filter(**{f"user__{key}": user, f"tenant__{key}": tenant}, user__is_active=True, is_active=True)
        .first()
    )
    if membership is not None:
        return TenantAccess(user=membership.user, tenant=membership.tenant, role=membership.role)
    superuser = User.objects.filter(**{key: user}, is_active=True, is_superuser=True).first()
    found = Tenant.objects.filter(**{key: tenant}).first() if superuser else None
    if superuser and found:
        return TenantAccess(user=superuser, tenant=found, role=Role.SUPER_ADMIN)
    return None


def tenant_access_require_operational(access: TenantAccess) -> None:
    if not access.tenant.is_operational and access.role != Role.SUPER_ADMIN:
        raise TenantNotOperational(
            _("The account %(name)s is paused (%(status)s): its inbox and API are stopped, and messages that "
              "arrive are still kept. Contact support to reactivate it.")
            % {"name": access.tenant.name, "status": access.tenant.get_status_display()},
            details={"tenant_status": access.tenant.status},
        )
