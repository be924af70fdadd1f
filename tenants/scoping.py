"""The one mechanism that scopes every query of tenant data to the current tenant.

Every model holding a tenant's rows inherits `TenantScopedModel`. Its default manager,
`objects`, filters by the tenant made current with `tenant_context()` (the API's
authentication and the inbox's middleware do this for each request) and refuses to run
at all when no tenant is current: forgetting the scope fails loudly instead of leaking.
Platform code that must see every tenant (Django admin, webhooks resolving a channel,
maintenance commands) says so explicitly with `unscoped()` or uses `Model.all_objects`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from tenants.models import Tenant


class _Unscoped:
    def __repr__(self) -> str:
        return "<all tenants>"


UNSCOPED = _Unscoped()
_current: ContextVar[Tenant | _Unscoped | None] = ContextVar("current_tenant", default=None)


class TenantContextMissing(RuntimeError):
    """Tenant data was queried with no tenant current: a bug, never a user error."""


def current_tenant() -> Tenant | None:
    value = _current.get()
    return None if value is UNSCOPED else value  # type: ignore[return-value]


@contextmanager
def tenant_context(tenant: Tenant | None) -> Iterator[None]:
    token = _current.set(tenant)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    token = _current.set(UNSCOPED)
    try:
        yield
    finally:
        _current.reset(token)


def activate_tenant(tenant: Tenant | None) -> None:
    """Make `tenant` current for the rest of this request (the middleware resets it)."""
    _current.set(tenant)


class TenantScopedManager(models.Manager):
    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()
        scope = _current.get()
        if scope is UNSCOPED:
            return queryset
        if scope is None:
            # A related manager (conversation.labels, user.memberships) is already bound to
            # one row: it stays within that row's tenant, or spans the user's tenants.
            instance = getattr(self, "instance", None)
            if instance is not None:
                tenant_id = getattr(instance, "tenant_id", None)
                return queryset if tenant_id is None else queryset.filter(tenant_id=tenant_id)
            raise TenantContextMissing(
                f"{self.model.__name__} queried with no current tenant; "
                "use tenant_context(tenant) or unscoped()"
            )
        return queryset.filter(tenant_id=scope.pk)  # type: ignore[union-attr]


class TenantScopedModel(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+", editable=False)

    objects = TenantScopedManager()
    all_objects = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        scope = _current.get()
        if self.tenant_id is None and scope is not None and scope is not UNSCOPED:
            self.tenant = scope  # type: ignore[assignment]
        if scope is not None and scope is not UNSCOPED and self.tenant_id != scope.pk:  # type: ignore[union-attr]
            raise TenantContextMissing(f"{type(self).__name__} of another tenant saved in {scope}")
        super().save(*args, **kwargs)
