from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.sessions import inbox_member_required, session_login, session_switch_tenant
from config.errors import ApplicationError
from config.ids import uuid_or_none


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
            session_login(request=request, email=email, password=request.POST.get("password", "")[:256])
            return redirect(safe_next(request))
        except ApplicationError:  # a wrong password, or a locked account or address: one answer
            error, status = _("Email or password is wrong."), 401
    return render(request, "accounts/login.html", {"error": error, "email": email, "next": safe_next(request)},
                  status=status)


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


