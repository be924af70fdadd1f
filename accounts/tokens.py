"""What ends a JWT before it expires, beyond its signature and its lifetime.

- Its login session revoked (POST /auth/revoke): every token of one login carries the same
  session id (claim `sid`, kept through refreshes), and a revoked session is a mark in the
  cache (Redis in production, shared by every process) for as long as an access token of it
  can live. One EXISTS per request.
- Every other login ended (two-factor login turned on: accounts.login_sessions): tokens issued
  (claim `iat`, in whole seconds) before the second of User.tokens_valid_after are refused.
- A new password: tokens carry a digest of the password hash they were issued under
  (simplejwt's CHECK_REVOKE_TOKEN claim), compared with the user's, whom every request loads.
- A deactivated user, a removed member, a changed role: every request resolves the member's
  current access (accounts.authentication), so these never needed a mark."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from config.cache import mark_is_set, mark_set

SESSION_CLAIM = "sid"
# Beyond an access token's lifetime, for clocks of processes a little apart.
_REVOCATION_MARGIN_SECONDS = 60


def token_session_set(refresh: RefreshToken, *, session: str | None = None) -> None:
    """Give a refresh token (and the access tokens made from it) its login session: a new one
    at login, the same one when it is a refresh's successor."""
    refresh[SESSION_CLAIM] = session or uuid.uuid4().hex



def token_session_revoke(token: Any) -> None:
    """End the login session of this token: its access tokens stop working at once."""
    session = token.get(SESSION_CLAIM)
    if session:
        lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
        mark_set(_revoked_key(str(session)), int(lifetime) + _REVOCATION_MARGIN_SECONDS)


def token_refusal(token: Any, user: User) -> tuple[str, str] | None:
    """(code, message) when this valid token of `user` must not be honoured any more; None
    when it may."""
    password = token.get(api_settings.REVOKE_TOKEN_CLAIM)
    if password is None:
        return "token_not_valid", _("This token is of an older kind: log in again.")
    if password != get_md5_hash_password(user.password):
        return "password_changed", _("Your password changed: log in again.")
    if user.tokens_valid_after is not None and int(token.get("iat", 0)) < int(user.tokens_valid_after.timestamp()):
        return "token_revoked", _("Two-factor login was turned on for this account: log in again with its code.")
    session = token.get(SESSION_CLAIM)
    if session and mark_is_set(_revoked_key(str(session))):
        return "token_revoked", _("This token was revoked: log in again.")
    return None


def _revoked_key(session: str) -> str:
    return f"jwt:revoked-session:{session}"
