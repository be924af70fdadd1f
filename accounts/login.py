"""Logging in with an email and a password, through any of the three doors that take one: the
inbox's /login/, Django admin's /admin/login/ and the API's /auth/token; and, for an account with
two-factor login, the code that follows the password (the inbox's /login/code/, the API's `otp`).

django-axes counts the failures (settings: AXES_*, LOGIN_IP_FAILURE_LIMIT) per account across
client addresses and per client address across accounts, in the database, and refuses a door
that had too many for a cool-off. A refused door answers exactly as a wrong password does (same
status, same body, and one password hashing in both cases), so that nobody learns from the
answer whether an account exists or is locked. A wrong two-factor code is a failure of the same
account as a wrong password (so guessing codes locks it as guessing passwords does), and a locked
account's code is refused, right or wrong. Staff lift a lockout in Django admin (the
users' "unlock" action, or axes' access attempts) or with `manage.py axes_reset_username`."""

from __future__ import annotations

import logging
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_login_failed
from django.db.models import Q, Sum
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.two_factor import InvalidCode, two_factor_enabled, two_factor_verify
from config.errors import ApplicationError

logger = logging.getLogger(__name__)


class InvalidCredentials(ApplicationError):
    status_code = 401
    default_code = "invalid_credentials"


def credentials_authenticate(*, request: HttpRequest, email: str, password: str) -> User:
    """The active user these credentials name. Anything else (a wrong password, an unknown or
    inactive account, a locked account or client address) is one and the same error."""
    user = authenticate(request, email=email.strip().lower(), password=password)
    if user is None:
        raise InvalidCredentials("Email or password is wrong.")
    return user


def second_factor_authenticate(*, request: HttpRequest, user: User, code: str) -> None:
    """Accept the code of `user`, whose password was just checked, or raise InvalidCode: a wrong
    code, or any code while the account or the client address is locked (counted as a failed
    login by django-axes)."""
    credentials = {"email": user.email}
    if not AxesProxyHandler.is_allowed(request, credentials) or two_factor_verify(user=user, code=code) is None:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        raise InvalidCode(_("That code is not right."))


def second_factor_authenticate_if_enabled(*, request: HttpRequest, user: User, code: str) -> bool:
    """For a door that takes the code with the password (the API's): True when the account has
    two-factor login and `code` is right; False when it has none. Raises `otp_required` when
    the code is missing, `otp_invalid` (accounts.two_factor.InvalidCode) when it is wrong."""
    if not two_factor_enabled(user=user):
        return False
    if not code:
        raise ApplicationError(_("This account has two-factor login: send the code of its authenticator app "
                                 "(or a recovery code) as `otp`."), code="otp_required", status_code=401)
    second_factor_authenticate(request=request, user=user, code=code)
    return True


def login_access_log(*, request: HttpRequest, user: User) -> None:
    """Record a login that opens no session (an API token) where staff see the others: axes'
    access log, which Django's user_logged_in fills for session logins."""
    AccessLog.objects.create(
        username=user.get_username(), ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        user_agent=request.axes_user_agent, http_accept=request.axes_http_accept,  # type: ignore[attr-defined]
        path_info=request.axes_path_info, attempt_time=request.axes_attempt_time,  # type: ignore[attr-defined]
    )


def login_unlock(*, email: str) -> int:
    """Forget the failed logins of this account (from every address): it may log in at once.
    Returns how many records were removed."""
    count: int = AxesProxyHandler.reset_attempts(username=email.strip().lower())
    logger.info("login failures of %s reset: %d records", email, count)
    return count


class LockoutBackend(AxesStandaloneBackend):
    """First of AUTHENTICATION_BACKENDS: refuses a locked door before any other backend looks
    at the password."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            # No client, no door: a management command or a test checking a password.
            return None
        try:
            super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            # As long to answer as a wrong password: ModelBackend hashes once for those too.
            make_password(password)
            raise
        return None


class LoginAttemptsHandler(AxesDatabaseHandler):
    """axes' database handler, with a limit of its own for a client address.

    An account locks after AXES_FAILURE_LIMIT failures from anywhere; an address after
    LOGIN_IP_FAILURE_LIMIT failures on any accounts (more: an office shares one address).
    axes compares one number with one limit, so the address's failures are given to it in the
    account's units: floor(failures × account limit / address limit) reaches the account limit
    exactly when the address's failures reach its own."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        address = request.axes_ip_address
        totals = AccessAttempt.objects.filter(
            Q(username=username) | Q(ip_address=address), attempt_time__gte=get_cool_off_threshold(request)
        ).aggregate(
            account=Sum("failures_since_start", filter=Q(username=username)),
            address=Sum("failures_since_start", filter=Q(ip_address=address)),
        )
        account_limit, address_limit = settings.AXES_FAILURE_LIMIT, max(1, settings.LOGIN_IP_FAILURE_LIMIT)
        return max(totals["account"] or 0, (totals["address"] or 0) * account_limit // address_limit)
