"""Sessions that skipped the second step of the login."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.two_factor import NOT_VERIFIED, SESSION_KEY, two_factor_enabled


class TwoFactorSessionMiddleware:
    """Every session opened by the inbox's login carries its two-factor mark. One without it was
    opened by another door that takes a password alone (Django admin's login) or before two-factor
    login existed: an account with two-factor login is logged out and sent to the inbox's login,
    which asks for the code; any other gets its mark (one query, once per session)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and SESSION_KEY not in request.session:
            if not two_factor_enabled(user=user):  # type: ignore[arg-type]
                request.session[SESSION_KEY] = NOT_VERIFIED
            else:
                logout(request)
                if not request.path.startswith(settings.API_PATH_PREFIXES):
                    return redirect(f"{settings.LOGIN_URL}?next={quote(request.get_full_path())}")
        return self.get_response(request)
