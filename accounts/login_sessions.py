"""A user's logins, and ending all of them but one (turning two-factor login on does).

Each inbox session is recorded when it opens (Django's user_logged_in, every door: the inbox's
login, Django admin's, a test's force_login) and again when its key changes while it goes on (a
password change), in the database, so that any process can find and end it.

Ending the others (logins_end_others) never touches the session that asked: its key, its cookie
and its data stay as they are. (Giving the current session a new key, as a new auth hash would,
raced with the page's own requests still in flight with the old cookie: Django's session
middleware answers one that finds its session gone by deleting the cookie, and the browser then
dropped the new one too.) The other sessions are deleted from the session store, their live
sockets close on an access event (conversations.consumers), the user's refresh tokens are
blacklisted and every access token issued before now is refused (User.tokens_valid_after,
compared by accounts.tokens with the token's `iat`; the user is loaded on every request, so
this costs no query)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.events import UserLoginsEnded
from accounts.models import LoginSession, Membership, User
from tenants.events import publish


@dataclass(frozen=True)
class LoginsEnded:
    sessions: int
    tokens: int


def _session_store(session_key: str | None = None) -> SessionBase:
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return store


def login_session_record(*, user: User, session_key: str | None) -> None:
    """Record a session of the user (its key now), and forget the user's recorded sessions that
    the store no longer has (expired, logged out, or given a new key)."""
    if not session_key:
        return
    LoginSession.objects.update_or_create(session_key=session_key, defaults={"user": user})
    store = _session_store()
    gone = [key for key in LoginSession.objects.filter(user=user).exclude(session_key=session_key)
            .values_list("session_key", flat=True) if not store.exists(key)]
    if gone:
        LoginSession.objects.filter(session_key__in=gone).delete()


def login_session_on_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """user_logged_in: Django's login() has given the session its key already."""
    if request is not None and hasattr(request, "session"):
        login_session_record(user=user, session_key=request.session.session_key)


def login_session_on_logged_out(sender: Any, request: HttpRequest | None, user: User | None,
                                **kwargs: Any) -> None:
    """user_logged_out (before the session is flushed): nothing left to end there."""
    if request is not None and hasattr(request, "session") and request.session.session_key:
        LoginSession.objects.filter(session_key=request.session.session_key).delete()


@transaction.atomic
def logins_end_others(*, user: User, current_session_key: str | None) -> LoginsEnded:
    """End every login of the user but the session `current_session_key` (None: end them all):
    the other sessions, their sockets, and every JWT (refresh tokens blacklisted, access tokens
    issued before now refused). The current session is left exactly as it is."""
    others = list(LoginSession.objects.select_for_update().filter(user=user)
                  .exclude(session_key=current_session_key or "").values_list("session_key", flat=True))
    for session_key in others:
        _session_store(session_key).delete()
    LoginSession.objects.filter(session_key__in=others).delete()
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(tokens_valid_after=now)
    user.tokens_valid_after = now
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=now, blacklistedtoken__isnull=True)
    refresh_tokens = list(live.values_list("pk", flat=True))
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token_id=pk) for pk in refresh_tokens],
                                         ignore_conflicts=True)
    user_id = str(user.public_id)
    for tenant_pk in Membership.all_objects.filter(user=user, is_active=True).values_list("tenant_id", flat=True):
        publish(UserLoginsEnded(tenant_pk=tenant_pk, user_pk=user.pk, user_id=user_id))
    return LoginsEnded(sessions=len(others), tokens=len(refresh_tokens))


def login_session_exists(session: Any) -> bool:
    """Whether a live socket's session is still in the store (logins_end_others deletes others)."""
    key = session.session_key
    return bool(key) and bool(session.exists(key))
