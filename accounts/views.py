from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.cors import cors_origins_parse, tenant_cors_origins_set
from accounts.models import User
from accounts.passwords import PasswordResetForm, password_changed, password_reset_complete
from accounts.sessions import (
    InboxRequest,
    inbox_member_required,
    session_access,
    session_login,
    session_login_code,
    session_login_pending,
    session_switch_tenant,
    session_two_factor_verified,
)
from accounts.two_factor import (
    InvalidCode,
    tenant_two_factor_require,
    two_factor_disable,
    two_factor_enabled,
    two_factor_enrolment_confirm,
    two_factor_enrolment_pending,
    two_factor_enrolment_start,
    two_factor_recovery_codes_left,
    two_factor_recovery_codes_renew,
)
from config.errors import ApplicationError
from config.ids import uuid_or_none
from tenants.cors import tenant_cors_origins


def safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/inbox/"
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                              require_https=request.is_secure())
    return target if allowed else "/inbox/"


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    error, status, email = "", 200, ""
    if request.method == "POST":
        email = request.POST.get("email", "")[:254]
        try:
            if session_login(request=request, email=email, password=request.POST.get("password", "")[:256]):
                return redirect(safe_next(request))
            return redirect(f"{reverse('login-code')}?next={quote(safe_next(request))}")
        except ApplicationError:  # a wrong password, or a locked account or address: one answer
            error, status = _("Email or password is wrong."), 401
    return render(request, "accounts/login.html", {"error": error, "email": email, "next": safe_next(request)},
                  status=status)


@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    """The login's second step, for an account with two-factor login."""
    if session_login_pending(request) is None:
        return redirect(f"{settings.LOGIN_URL}?next={quote(safe_next(request))}")
    error, status = "", 200
    if request.method == "POST":
        try:
            session_login_code(request=request, code=request.POST.get("code", "")[:64])
            return redirect(safe_next(request))
        except InvalidCode as refusal:  # wrong, or the account locked: one answer
            if refusal.code == "otp_expired":
                return redirect(f"{settings.LOGIN_URL}?next={quote(safe_next(request))}")
            error, status = _("That code is not right."), 401
    return render(request, "accounts/login_code.html", {"error": error, "next": safe_next(request)}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGIN_URL)


@require_POST
@inbox_member_required
def switch_tenant_view(request: HttpRequest) -> HttpResponse:
    tenant_id = uuid_or_none(request.POST.get("tenant", ""))
    if tenant_id is not None:
        session_switch_tenant(request=request, tenant_id=tenant_id)
    return redirect("/inbox/")


@require_POST
@inbox_member_required
def language_view(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    response = redirect(safe_next(request))
    if language in dict(settings.LANGUAGES) or language == "":
        User.objects.filter(pk=request.user.pk).update(language=language)
        # The pages before logging in (the login page, error pages) follow the choice too.
        if language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                                samesite=settings.LANGUAGE_COOKIE_SAMESITE, secure=settings.LANGUAGE_COOKIE_SECURE,
                                httponly=settings.LANGUAGE_COOKIE_HTTPONLY)
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response




# --- The user's own account: password and two-factor login ----------------------------


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_reset_complete(user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """The current session stays (Django gives it the new hash); the others and every JWT end."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account-security")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # gives this session a new key (and the new hash)
        password_changed(user=form.user, session_key=self.request.session.session_key)
        messages.success(self.request, _("Password changed. Your other sessions and API tokens were ended."))
        return response


@login_required
@require_http_methods(["GET"])
def account_security_view(request: HttpRequest) -> HttpResponse:
    """Password and two-factor login of the user's own account (open to a member whose tenant
    requires two-factor login before they turned it on: it is where they turn it on)."""
    user: User = request.user  # type: ignore[assignment]
    enabled = two_factor_enabled(user=user)
    access = session_access(request)
    return render(request, "accounts/security.html", {
        "two_factor_enabled": enabled,
        "user_two_factor_required": access is not None and access.tenant.two_factor_required,
        "enrolment": None if enabled else two_factor_enrolment_pending(user=user),
        "recovery_codes_left": two_factor_recovery_codes_left(user=user) if enabled else 0,
    })


@login_required
@require_POST
def two_factor_start_view(request: HttpRequest) -> HttpResponse:
    try:
        two_factor_enrolment_start(user=request.user)  # type: ignore[arg-type]
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    return redirect("account-security")


@login_required
@require_POST
def two_factor_confirm_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        codes = two_factor_enrolment_confirm(user=user, code=request.POST.get("code", "")[:64],
                                             current_session_key=request.session.session_key)
    except ApplicationError as refusal:
        return render(request, "accounts/security.html", {
            "two_factor_enabled": False, "enrolment": two_factor_enrolment_pending(user=user),
            "error": refusal.message}, status=400)
    session_two_factor_verified(request=request)
    # Shown here, once: they are not on any other page.
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    try:
        two_factor_disable(user=request.user, code=request.POST.get("code", "")[:64],  # type: ignore[arg-type]
                           password=request.POST.get("password", "")[:256])
    except InvalidCode as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Two-factor login is off."))
    return redirect("account-security")


@login_required
@require_POST
def two_factor_recovery_codes_view(request: HttpRequest) -> HttpResponse:
    try:
        codes = two_factor_recovery_codes_renew(user=request.user,  # type: ignore[arg-type]
                                                password=request.POST.get("password", "")[:256])
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
        return redirect("account-security")
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "renewed": True})


# --- The tenant's security settings (tenant administrators) --------------------------


@require_http_methods(["GET", "POST"])
@inbox_member_required
def tenant_security_view(request: InboxRequest) -> HttpResponse:
    if not request.access.has("tenant:settings"):
        return render(request, "settings/security.html", {"access": request.access, "forbidden": True}, status=403)
    if request.method == "POST":
        try:
            tenant_two_factor_require(tenant=request.access.tenant, actor=request.user,
                                      required=request.POST.get("two_factor_required") == "on")
        except ApplicationError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Security settings saved."))
        return redirect("settings-security")
    return render(request, "settings/security.html", {
        "access": request.access, "cors_origins": tenant_cors_origins(request.access.tenant)})


@require_POST
@inbox_member_required
def tenant_cors_view(request: InboxRequest) -> HttpResponse:
    if not request.access.has("tenant:settings"):
        return render(request, "settings/security.html", {"access": request.access, "forbidden": True}, status=403)
    try:
        tenant_cors_origins_set(tenant=request.access.tenant, actor=request.access.user,
                                origins=cors_origins_parse(request.POST.get("cors_origins", "")[:5000]))
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Allowed origins saved."))
    return redirect("settings-security")
