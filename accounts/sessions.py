"""The inbox's session: who is logged in, and in which tenant."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation

from accounts.access import TenantAccess, tenant_access_resolve, tenant_access_resolve_public
from accounts.authentication import SESSION_TENANT_KEY
from accounts.login import credentials_authenticate
from accounts.models import Membership, User
from tenants.models import Tenant
from tenants.scoping import activate_tenant


def session_login(*, request: HttpRequest, email: str, password: str) -> User:
    """Log in with email and password (accounts.login: failures counted, a locked door refused
    as a wrong password is)."""
    user = credentials_authenticate(request=request, email=email, password=password)
    login(request, user)
    tenants = session_tenants(user=user)
    if len(tenants) >= 1:
        request.session[SESSION_TENANT_KEY] = tenants[0].pk
    return user


def session_tenants(*, user: User) -> list[Tenant]:
    tenants = [m.tenant for m in Membership.all_objects.select_related("tenant").filter(user=user)]
    if user.is_superuser:
        known = {t.pk for t in tenants}
        tenants += [t for t in Tenant.objects.exclude(pk__in=known)]
    return sorted(tenants, key=lambda tenant: tenant.name.lower())


def session_switch_tenant(*, request: HttpRequest, tenant_id: uuid.UUID) -> TenantAccess | None:
    """Work in the tenant of this public id from now on, if the user may (None if not). The
    session keeps its primary key: it never leaves the server."""
    access = tenant_access_resolve_public(user_id=request.user.public_id, tenant_id=tenant_id)
    if access is not None:
        request.session[SESSION_TENANT_KEY] = access.tenant.pk
    return access


def session_access(request: HttpRequest) -> TenantAccess | None:
    if not request.user.is_authenticated:
        return None
    tenant_id = request.session.get(SESSION_TENANT_KEY)
    if tenant_id is None:
        return None
    return tenant_access_resolve(user_id=request.user.pk, tenant_id=tenant_id)


class InboxRequest(HttpRequest):
    """What a view under inbox_member_required receives (for type checkers: the request is
    Django's own): a logged-in user, and `access`, the member's access to the current tenant."""

    user: User
    access: TenantAccess


def inbox_member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the inbox's pages: a logged-in member of an operational tenant. Makes the tenant
    current, and its time zone and the member's language active for the request."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access = session_access(request)
        if access is None:
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = settings.LOGIN_URL
                return response
            return redirect(f"{settings.LOGIN_URL}?next={request.get_full_path()}")
        if not access.tenant.is_operational and access.role != "SUPER_ADMIN":
            from django.shortcuts import render

            return render(request, "accounts/suspended.html", {"tenant": access.tenant}, status=403)
        activate_tenant(access.tenant)
        translation.activate(access.user.language or access.tenant.language)
        request.LANGUAGE_CODE = translation.get_language()
        timezone.activate(access.tenant.time_zone)
        request.access = access  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
