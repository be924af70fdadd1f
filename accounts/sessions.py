"""The inbox's session: who is logged in, and in which tenant."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.access import TenantAccess, tenant_access_resolve, tenant_access_resolve_public
from accounts.authentication import SESSION_TENANT_KEY
from accounts.login import credentials_authenticate, second_factor_authenticate
from accounts.models import Membership, User
from accounts.two_factor import NOT_VERIFIED, SESSION_KEY, VERIFIED, InvalidCode, two_factor_enabled
from tenants.models import Tenant
from tenants.scoping import activate_tenant

# A password checked, its code not given yet: {"user": pk, "at": epoch seconds}.
PENDING_KEY = "two_factor_pending"


def session_login(*, request: HttpRequest, email: str, password: str) -> bool:
    """Log in with email and password (accounts.login: failures counted, a locked door refused
    as a wrong password is). True when logged in; False when the account has two-factor login
    and the code is asked next (session_login_code), for TWO_FACTOR_CODE_SECONDS."""
    user = credentials_authenticate(request=request, email=email, password=password)
    if two_factor_enabled(user=user):
        request.session.cycle_key()
        request.session[PENDING_KEY] = {"user": user.pk, "at": time.time()}
        return False
    _session_open(request, user, two_factor=NOT_VERIFIED)
    return True


def session_login_pending(request: HttpRequest) -> User | None:
    """The user whose password was right and whose code is awaited, while the wait lasts."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > settings.TWO_FACTOR_CODE_SECONDS:
        return None
    return User.objects.filter(pk=pending.get("user"), is_active=True).first()


def session_login_code(*, request: HttpRequest, code: str) -> User:
    """The second step: the code of the pending user's authenticator, or one of their recovery
    codes. Wrong codes are failed logins of the account (accounts.login)."""
    user = session_login_pending(request)
    if user is None:
        request.session.pop(PENDING_KEY, None)
        raise InvalidCode(_("Log in again: the time to give the code ran out."), code="otp_expired")
    second_factor_authenticate(request=request, user=user, code=code)
    del request.session[PENDING_KEY]
    _session_open(request, user, two_factor=VERIFIED)
    return user


def session_two_factor_verified(*, request: HttpRequest) -> None:
    """This session gave a code (the user just turned two-factor login on in it)."""
    request.session[SESSION_KEY] = VERIFIED



def session_two_factor_missing(*, session: Any, access: TenantAccess) -> bool:
    """Whether the tenant requires two-factor login and this session did not pass it."""
    return access.tenant.two_factor_required and session.get(SESSION_KEY) != VERIFIED


def _session_open(request: HttpRequest, user: User, *, two_factor: str) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KEY] = two_factor
    tenants = session_tenants(user=user)
    if len(tenants) >= 1:
        request.session[SESSION_TENANT_KEY] = tenants[0].pk


def session_tenants(*, user: User) -> list[Tenant]:
    tenants = [m.tenant for m in Membership.all_objects.select_related("tenant").filter(user=user, is_active=True)]
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
        if session_two_factor_missing(session=request.session, access=access):
            return _two_factor_redirect(request)
        activate_tenant(access.tenant)
        translation.activate(access.user.language or access.tenant.language)
        request.LANGUAGE_CODE = translation.get_language()
        timezone.activate(access.tenant.time_zone)
        request.access = access  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _two_factor_redirect(request: HttpRequest) -> HttpResponse:
    """To the page that turns two-factor login on (the only one open to such a member). A user who
    turned it on in another session logs in again, with a code."""
    target = reverse("account-security")
    if two_factor_enabled(user=request.user):  # type: ignore[arg-type]
        logout(request)
        target = f"{settings.LOGIN_URL}?next={quote(request.get_full_path())}"
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=401)
        response["HX-Redirect"] = target
        return response
    return redirect(target)
