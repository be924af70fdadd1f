from __future__ import annotations

from django.db import connection, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from config.errors import PlanLimitExceeded, ValidationFailed
from config.sql import execute
from tenants.events import TenantStatusChanged, publish
from tenants.models import Tenant


def tenant_create(*, name: str, slug: str = "", status: str = Tenant.Status.TRIAL, **fields: object) -> Tenant:
    slug = slugify(slug or name)
    if not slug:
        raise ValidationFailed("A tenant needs a name or slug.", details={"slug": ["This field is required."]})
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationFailed(f"The slug {slug!r} is taken.", details={"slug": ["A tenant with this slug exists."]})
    return Tenant.objects.create(name=name, slug=slug, status=status, **fields)


_RESOURCE_NAMES = {"channels": _lazy("channels"), "agents": _lazy("agents"), "messages": _lazy("messages this month")}


def tenant_check_limit(*, tenant: Tenant, resource: str, current: int, adding: int = 1) -> None:
    """Refuse to go past the plan's limit for `resource` (channels, agents, messages)."""
    limit = {
        "channels": tenant.max_channels,
        "agents": tenant.max_agents,
        "messages": tenant.max_messages_per_month,
    }[resource]
    if limit and current + adding > limit:
        raise PlanLimitExceeded(
            _("Your plan allows %(limit)s %(resource)s; you have %(current)s. Upgrade the plan or remove some first.")
            % {"limit": limit, "resource": _RESOURCE_NAMES[resource], "current": current},
            details={"resource": resource, "limit": limit, "usage": current},
        )


def tenant_record_messages(*, tenant: Tenant, count: int = 1) -> None:
    """Count messages against this month's allowance, atomically across processes: one
    statement, which also starts the count of a new month (plain SQL: it runs for every
    batch of messages). It locks the tenant's row until the caller's transaction ends, so
    callers run it after their commit, or as the last lock of their transaction."""
    month = connection.ops.adapt_datefield_value(Tenant.current_month())
    execute(f"UPDATE {Tenant._meta.db_table} SET messages_this_month = CASE WHEN usage_month = %s "
            f"THEN messages_this_month + %s ELSE %s END, usage_month = %s WHERE id = %s",
            [month, count, count, month, tenant.pk])


def tenant_messages_this_month(*, tenant: Tenant) -> int:
    tenant.refresh_from_db(fields=["usage_month", "messages_this_month"])
    return tenant.messages_this_month if tenant.usage_month == Tenant.current_month() else 0


def tenant_set_status(*, tenant: Tenant, status: str, actor: object = None) -> bool:
    """Suspend, reactivate or cancel a tenant. A suspended tenant's inbox and API refuse work
    (its open sockets close); what its channels deliver is still stored."""
    if status not in Tenant.Status.values:
        raise ValidationFailed(f"Unknown status {status!r}.", details={"status": ["Unknown status."]})
    old_status = tenant.status
    if old_status == status:
        return False
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(status=status)
        tenant.status = status
        publish(TenantStatusChanged(tenant_pk=tenant.pk, old_status=old_status, new_status=status))
    return True
