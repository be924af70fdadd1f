"""Two-factor login: an authenticator app's codes (TOTP, django-otp's TOTPDevice) and single-use
recovery codes (django-otp's StaticDevice), for when the phone is lost.

Recovery codes are kept as keyed digests (recovery_code_digest), never as the codes themselves: a
copy of the database does not hand out a way past the second step.

An account has two-factor login when it has a confirmed authenticator. Turning it on is two
steps: a new, unconfirmed authenticator (its QR code shown), confirmed by a first code from the
app, which also makes the recovery codes (shown once). Turning it off takes a code or the
password. A tenant may require it of its members (Tenant.two_factor_required).

Which session passed the second step is a mark in the session (SESSION_KEY), set at login
(accounts.sessions) and checked where a tenant requires it, at no query per request."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit  # a module: accounts.audit imports the login, which imports this
from accounts.login_sessions import logins_end_others
from accounts.models import AuditAction, User
from config.errors import ApplicationError
from tenants.events import TenantTwoFactorRequired, publish
from tenants.models import Tenant

# In the session: "verified" after a password and a code, "none" after a password alone of an
# account without two-factor login, "password-only" after a password alone of one with it (a door
# that does not ask for the code: accounts.middleware sends it to the inbox's login).
SESSION_KEY = "two_factor"
VERIFIED = "verified"
NOT_VERIFIED = "none"
PASSWORD_ONLY = "password-only"
# A JWT issued after a password and a code carries this claim (a tenant that requires two-factor
# login refuses the others).
TOKEN_CLAIM = "mfa"
RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator"
RECOVERY_NAME = "Recovery codes"
_SEPARATORS = re.compile(r"[\s-]+")


class InvalidCode(ApplicationError):
    status_code = 401
    default_code = "otp_invalid"


@dataclass(frozen=True)
class Enrolment:
    """An authenticator waiting for its first code: what the user scans or types."""

    qr_data_url: str  # a PNG of the otpauth:// URL, for an <img> (the page's CSP allows data: images)
    secret: str  # the same key in base32, for an app that cannot scan


def two_factor_enabled(*, user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def two_factor_enrolment_start(*, user: User) -> Enrolment:
    """A new authenticator for the user (any earlier unconfirmed one is dropped)."""
    if two_factor_enabled(user=user):
        raise ApplicationError(_("Two-factor login is already on."), code="two_factor_enabled", status_code=409)
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return _enrolment(device)


def two_factor_enrolment_pending(*, user: User) -> Enrolment | None:
    """The authenticator started and not confirmed yet, if any (the page was reloaded)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return _enrolment(device) if device is not None else None


@transaction.atomic
def two_factor_enrolment_confirm(*, user: User, code: str, current_session_key: str | None = None) -> list[str]:
    """Confirm the new authenticator with a code it shows: two-factor login is on, and every other
    login of the account ends (other sessions and their sockets, every JWT: whoever else knew the
    password alone is out); the session `current_session_key` that turned it on goes on as it is.
    Returns the recovery codes, the only time they are shown."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise ApplicationError(_("Start again: no authenticator is waiting for a code."), code="two_factor_not_started",
                               status_code=409)
    if not device.verify_token(_normalised(code)):
        raise InvalidCode(_("That code is not right. Check the time on your phone and try the current code."))
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    ended = logins_end_others(user=user, current_session_key=current_session_key)
    audit.audit_record_for_member(user=user, action=AuditAction.TWO_FACTOR_ENABLED, actor=user,
                                  details={"sessions_ended": ended.sessions, "refresh_tokens_ended": ended.tokens})
    return two_factor_recovery_codes_replace(user=user)


@transaction.atomic
def two_factor_recovery_codes_replace(*, user: User) -> list[str]:
    """New recovery codes; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=recovery_code_digest(code)) for code in codes])
    return codes


def recovery_code_digest(code: str, *, secret: str | None = None) -> str:
    """What is stored of a recovery code: a digest keyed by the installation's SECRET_KEY (so that
    the 8 random characters cannot be found by hashing every candidate without it), in the 16
    characters django-otp's StaticToken keeps (80 bits)."""
    digest = salted_hmac("accounts.two_factor.recovery-code", code.lower(), secret=secret,
                         algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:16]


def _recovery_code_digests(code: str) -> list[str]:
    """The digests a code may be stored under: by the current key, then by the keys it replaced
    (SECRET_KEY_FALLBACKS), as Django's own signed tokens are checked."""
    return [recovery_code_digest(code, secret=key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def two_factor_recovery_codes_renew(*, user: User, password: str) -> list[str]:
    """New recovery codes for an account with two-factor login (the old ones stop working), proven
    by the password."""
    if not two_factor_enabled(user=user):
        raise ApplicationError(_("Two-factor login is off."), code="two_factor_disabled", status_code=409)
    if not password or not user.check_password(password):
        raise ApplicationError(_("That password is not right."), code="invalid_credentials", status_code=401)
    audit.audit_record_for_member(user=user, action=AuditAction.RECOVERY_CODES_RENEWED, actor=user)
    return two_factor_recovery_codes_replace(user=user)


def two_factor_recovery_codes_left(*, user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user).count())


def two_factor_verify(*, user: User, code: str) -> Device | None:
    """The device that accepts this code (a recovery code is used up by it), or None. A code
    of the authenticator is accepted once (django-otp refuses a replay) and each device slows
    down guesses after a failure (its own throttling)."""
    token = _normalised(code)
    if not token:
        return None
    # The app's codes are digits, recovery codes letters and digits: each goes to its own devices
    # only, so that a recovery code never counts as a wrong code of the app (nor the other way).
    if token.isdigit():
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
        return next((device for device in devices if device.verify_token(token)), None)
    recovery = StaticDevice.objects.filter(user=user, confirmed=True)
    return next((device for device in recovery for digest in _recovery_code_digests(token)
                 if device.verify_token(digest)), None)


@transaction.atomic
def two_factor_disable(*, user: User, code: str = "", password: str = "") -> None:
    """Turn two-factor login off, proven by a current code (or a recovery code) or the password."""
    proven = bool(password) and user.check_password(password)
    if not proven and not (code and two_factor_verify(user=user, code=code)):
        raise InvalidCode(_("Give a current code or your password to turn two-factor login off."))
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.audit_record_for_member(user=user, action=AuditAction.TWO_FACTOR_DISABLED, actor=user)


def token_two_factor_missing(*, token: Any, tenant: Tenant) -> bool:
    """Whether the tenant requires two-factor login and this JWT was issued without a code."""
    return tenant.two_factor_required and not token.get(TOKEN_CLAIM)


def _enrolment(device: TOTPDevice) -> Enrolment:
    # The label an app shows: OTP_TOTP_ISSUER and the account's email (django-otp builds the URL).
    qr = segno.make(device.config_url, error="m")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return Enrolment(qr_data_url=qr.png_data_uri(scale=5, border=2), secret=secret)


def _normalised(code: str) -> str:
    """What the user typed, as a device compares it: no spaces or dashes ("123 456")."""
    return _SEPARATORS.sub("", code or "")[:32]


@transaction.atomic
def tenant_two_factor_require(*, tenant: Tenant, actor: User, required: bool) -> Tenant:
    """Require two-factor login of every member of the tenant (or stop requiring it). Whoever
    turns it on has it already, so that they are not the first one it locks out; the live sockets
    of sessions and tokens without a code close at once (conversations.consumers)."""
    if required and not two_factor_enabled(user=actor):
        raise ApplicationError(_("Turn on two-factor login for your own account first."),
                               code="two_factor_disabled", status_code=400)
    if tenant.two_factor_required != required:
        tenant.two_factor_required = required
        tenant.save(update_fields=["two_factor_required", "updated_at"])
        audit.audit_record(tenant=tenant, action=AuditAction.SETTINGS_CHANGED, actor=actor,
                           details={"two_factor_required": required})
        publish(TenantTwoFactorRequired(tenant_pk=tenant.pk, required=required))
    return tenant
