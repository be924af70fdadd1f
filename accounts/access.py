"""Who is acting, for which tenant, with which role: resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Membership, Role, User
from accounts.roles import ROLES_SEEING_ALL_CHANNELS, role_has_permission
from config.errors import TenantNotOperational
from tenants.models import Tenant


@dataclass(frozen=True)
class TenantAccess:
    user: User
    tenant: Tenant
    role: str
    token: Any = field(default=None, compare=False, repr=False)

    @property
    def tenant_id(self) -> int:
        return self.tenant.pk

    def has(self, permission: str) -> bool:
        return role_has_permission(self.role, permission)

    @property
    def sees_all_channels(self) -> bool:
        return self.role in ROLES_SEEING_ALL_CHANNELS


def tenant_access_resolve(*, user_id: Any, tenant_id: Any) -> TenantAccess | None:
    """The user's current access to the tenant (one query), or None if they have none.

    Platform superusers act as SUPER_ADMIN in any tenant."""
    membership = (
        Membership.all_objects.select_related("user", "tenant")
        .filter(user_id=user_id, tenant_id=tenant_id, user__is_active=True)
        .first()
    )
    if membership is not None:
        return TenantAccess(user=membership.user, tenant=membership.tenant, role=membership.role)
    user = User.objects.filter(pk=user_id, is_active=True, is_superuser=True).first()
    tenant = Tenant.objects.filter(pk=tenant_id).first() if user else None
    if user and tenant:
        return TenantAccess(user=user, tenant=tenant, role=Role.SUPER_ADMIN)
    return None


def tenant_access_require_operational(access: TenantAccess) -> None:
    if not access.tenant.is_operational and access.role != Role.SUPER_ADMIN:
        raise TenantNotOperational(
            _("The account %(name)s is paused (%(status)s): its inbox and API are stopped, and messages that "
              "arrive are still kept. Contact support to reactivate it.")
            % {"name": access.tenant.name, "status": access.tenant.get_status_display()},
            details={"tenant_status": access.tenant.status},
        )
