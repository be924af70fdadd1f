"""Sessions that skipped the second step of the login."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import User
from accounts.two_factor import NOT_VERIFIED, PASSWORD_ONLY, SESSION_KEY, two_factor_enabled


def two_factor_session_mark(sender: object, request: HttpRequest | None, user: User, **kwargs: object) -> None:
    """When any door opens a session: whether it skipped a second factor the account has. Done at
    login, so that requests pay nothing for it."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = PASSWORD_ONLY if two_factor_enabled(user=user) else NOT_VERIFIED


class TwoFactorSessionMiddleware:
    """Every session carries its two-factor mark (two_factor_session_mark, then the inbox's login).
    A session opened by a door that takes a password alone (Django admin's login) of an account with
    two-factor login is logged out and sent to the inbox's login, which asks for the code. A
    session older than the mark gets it here (one query, once)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        mark = request.session.get(SESSION_KEY)
        if mark is None:
            mark = PASSWORD_ONLY if two_factor_enabled(user=user) else NOT_VERIFIED  # type: ignore[arg-type]
            request.session[SESSION_KEY] = mark
        if mark == PASSWORD_ONLY:
            logout(request)
            if not request.path.startswith(settings.API_PATH_PREFIXES):
                return redirect(f"{settings.LOGIN_URL}?next={quote(request.get_full_path())}")
        return self.get_response(request)
