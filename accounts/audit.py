"""The tenant's audit log: who did what, when, from where, to what.

`audit_record` is the one place an entry is written; services call it in the transaction of
the change they make, so an entry exists exactly when the change does. Services take no
request: where the request came from (client address, user agent) is made current for the
request by `AuditOriginMiddleware`, and a task or a command records no origin.

Entries are append-only (accounts.models.AuditEntry refuses changes); `audit_entries_purge`
removes those older than each tenant's retention (Tenant.audit_retention_days), run by
Celery beat (accounts.tasks).

Logins: Django's auth signals are the one hook every door shares (our /login/, Django admin's
own login form, and the API's /auth/token, which authenticates through Django too), so failed
logins are recorded from `user_login_failed` and session logins from `user_logged_in`; the API
token, which opens no session, is recorded by tokens_obtain. A failure is recorded under every
tenant of the account it names; an address that names no account has no tenant to tell, and
stays in django-axes' failure log, which platform staff read in Django admin."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.login_names import login_username
from accounts.models import AuditAction, AuditEntry, Membership, User
from config.client_ip import client_ip
from config.errors import ValidationFailed
from tenants.models import AUDIT_RETENTION_MAX_DAYS, AUDIT_RETENTION_MIN_DAYS, Tenant

logger = logging.getLogger(__name__)

USER_AGENT_MAX = 255


@dataclass(frozen=True)
class AuditOrigin:
    """Where an action came from: the client's address and its user agent."""

    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest) -> AuditOrigin:
        address = client_ip(request)
        try:
            ip: str | None = str(ipaddress.ip_address(address))
        except ValueError:
            ip = None
        return cls(ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX])


@dataclass(frozen=True)
class AuditTarget:
    """What an action was done to: a kind ("channel", "user", "contact"...), its public id,
    and a label that still says what it was once it is gone."""

    type: str
    id: str
    label: str = ""

    @classmethod
    def user(cls, user: User) -> AuditTarget:
        return cls("user", str(user.public_id), user.email)


_origin: ContextVar[AuditOrigin | None] = ContextVar("audit_origin", default=None)


@contextmanager
def audit_origin(origin: AuditOrigin | None) -> Iterator[None]:
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


class AuditOriginMiddleware:
    """Makes the request's origin current for audit_record, for the request's duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_origin(AuditOrigin.of(request)):
            return self.get_response(request)


def audit_record(
    *, tenant: Tenant | int, action: str, actor: User | None, target: AuditTarget | None = None,
    details: dict[str, Any] | None = None, origin: AuditOrigin | None = None,
) -> AuditEntry:
    """Append one entry to the tenant's audit log (in the caller's transaction, if any)."""
    origin = origin or _origin.get() or AuditOrigin()
    entry = AuditEntry(
        tenant_id=tenant if isinstance(tenant, int) else tenant.pk,
        action=str(action),
        actor=actor if actor is not None and actor.pk is not None else None,
        actor_label=actor.email if actor is not None else "",
        target_type=target.type if target else "",
        target_id=target.id[:64] if target else "",
        target_label=target.label[:200] if target else "",
        ip=origin.ip,
        user_agent=origin.user_agent[:USER_AGENT_MAX],
        details=details or {},
    )
    # The tenant is named explicitly; whichever tenant the request works in (a staff member in
    # Django admin, a login that belongs to several) does not decide where the entry goes.
    AuditEntry.all_objects.bulk_create([entry])
    return entry


def _tenant_ids_of(user: User) -> list[int]:
    return list(Membership.all_objects.filter(user=user).order_by("tenant_id").values_list("tenant_id", flat=True))


def audit_record_for_member(
    *, user: User, action: str, actor: User | None, target: AuditTarget | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """The same entry under every tenant the user belongs to (what happened to the account
    concerns each of them). Returns how many were written."""
    tenant_ids = _tenant_ids_of(user)
    for tenant_id in tenant_ids:
        audit_record(tenant=tenant_id, action=action, actor=actor, target=target, details=details)
    return len(tenant_ids)


def _door(request: HttpRequest | None) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/admin/"):
        return "admin"
    return "api" if path.startswith("/api/") else "inbox"


def _on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                     **kwargs: Any) -> None:
    if request is None:  # no door: a command or a test checking a password
        return
    email = login_username(request, credentials)
    user = User.objects.filter(email=email).first() if email else None
    if user is None:
        return
    reason = "locked_out" if getattr(request, "axes_locked_out", False) else "invalid_credentials"
    audit_record_for_member(user=user, action=AuditAction.LOGIN_FAILED, actor=user,
                            details={"door": _door(request), "reason": reason})


def _on_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None:
        return
    audit_record_for_member(user=user, action=AuditAction.LOGIN_SUCCEEDED, actor=user,
                            details={"door": _door(request)})


def audit_login_signals_connect() -> None:
    user_login_failed.connect(_on_login_failed, dispatch_uid="accounts.audit.login_failed")
    user_logged_in.connect(_on_logged_in, dispatch_uid="accounts.audit.logged_in")


def audit_export_record(*, tenant: Tenant, actor: User | None, filters: dict[str, Any],
                        export_format: str = "csv") -> AuditEntry:
    """An export of the audit log is itself in the audit log, with the filters it used."""
    shown = {key: value.isoformat() if isinstance(value, dt.datetime) else str(value)
             for key, value in filters.items() if value}
    return audit_record(tenant=tenant, action=AuditAction.EXPORT_CREATED, actor=actor,
                        target=AuditTarget("audit_log", "", "audit log"),
                        details={"format": export_format, "filters": shown})


@transaction.atomic
def audit_retention_set(*, tenant: Tenant, actor: User | None, days: int) -> Tenant:
    """How many days the tenant keeps its audit log (the retention task deletes older entries)."""
    if not AUDIT_RETENTION_MIN_DAYS <= days <= AUDIT_RETENTION_MAX_DAYS:
        raise ValidationFailed(
            f"Keep the audit log from {AUDIT_RETENTION_MIN_DAYS} to {AUDIT_RETENTION_MAX_DAYS} days.",
            details={"days": [f"From {AUDIT_RETENTION_MIN_DAYS} to {AUDIT_RETENTION_MAX_DAYS}."]})
    before = tenant.audit_retention_days
    if before != days:
        tenant.audit_retention_days = days
        tenant.save(update_fields=["audit_retention_days", "updated_at"])
        audit_record(tenant=tenant, action=AuditAction.SETTINGS_CHANGED, actor=actor,
                     target=AuditTarget("tenant", str(tenant.public_id), tenant.name),
                     details={"audit_retention_days": {"from": before, "to": days}})
    return tenant


# --- Reads ----------------------------------------------------------------------------


def audit_entry_list(
    *, tenant: Tenant, actor_id: Any = None, action: str | None = None, since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEntry]:
    """The tenant's entries, newest first, filtered by the actor's public id, the action (a
    code, or a prefix ending in "." for a family: "channel."), and a time range [since, until)."""
    entries = AuditEntry.all_objects.filter(tenant=tenant).select_related("actor")
    if actor_id:
        entries = entries.filter(actor__public_id=actor_id)
    if action:
        entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries.order_by("-created_at", "-id")


def audit_actor_choices(*, tenant: Tenant) -> QuerySet[User]:
    """Who can be chosen as the actor filter: the tenant's members, and whoever acted in it."""
    acted = AuditEntry.all_objects.filter(tenant=tenant, actor=OuterRef("pk"))
    return User.objects.filter(Q(memberships__tenant=tenant) | Exists(acted)).distinct().order_by("email")


# --- Retention ------------------------------------------------------------------------


def audit_entries_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete every tenant's entries older than its retention. Returns how many were deleted,
    by tenant slug (tenants with none to delete left out)."""
    now = now or timezone.now()
    removed: dict[str, int] = {}
    for tenant in Tenant.objects.only("pk", "slug", "audit_retention_days").order_by("pk"):
        cutoff = now - dt.timedelta(days=tenant.audit_retention_days)
        count, _by_model = AuditEntry.all_objects.filter(tenant=tenant, created_at__lt=cutoff).delete()
        if count:
            removed[tenant.slug] = count
            logger.info("audit log of %s: %d entries older than %d days deleted", tenant.slug, count,
                        tenant.audit_retention_days)
    return removed
