"""The HTML forms that take a password are limited per client address: at most
FORM_RATE_LIMIT posts a minute to all of them together, whatever the account, before any
password is hashed (each costs a hashing: a flood of them is a flood of CPU). Beyond that the
answer is 429 with Retry-After. Login failures are counted apart, per account and per address,
by django-axes (accounts.login); this limit is on requests.

A new form of the kind (an invitation's) joins by its URL name below."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.views import safe_next
from config.api.throttling import rate_limit_count
from config.client_ip import client_ip

# URL names (with their namespace) of the views whose POSTs are limited.
PASSWORD_FORMS = frozenset({
    "login",  # the inbox's
    "login-code",  # its second step (two-factor login)
    "password_reset",  # asking for a reset link (each one sends a mail)
    "password_reset_confirm",  # the new password of a reset link
    "password_change",  # the user's own password
    "two-factor-confirm",
    "two-factor-disable",
    "two-factor-recovery-codes",
    "admin:login",
    "admin:password_change",  # staff's own password
    "admin:auth_user_password_change",  # a user's password, set by staff
})


class FormRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in PASSWORD_FORMS:
            return None
        state = rate_limit_count(scope="forms", identity=client_ip(request), limit=settings.FORM_RATE_LIMIT)
        if not state.exceeded:
            return None
        message = _("Too many attempts from your network. Wait a minute and try again.")
        if match.view_name == "login":
            response = render(request, "accounts/login.html",
                              {"error": message, "email": request.POST.get("email", "")[:254], "next": safe_next(request)},
                              status=429)
        else:
            response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(state.retry_after())
        return response
