"""Turning two-factor login on ends every other login of the account: the other sessions (deleted
from the store, their sockets closed), every JWT (refresh tokens blacklisted, access tokens issued
before refused) — while the session that turned it on goes on exactly as it was: same key, no new
cookie, its page's requests answered."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.access import TenantAccess
from accounts.login_sessions import logins_end_others
from accounts.models import AuditEntry, LoginSession, Role, User
from accounts.services import tokens_issue
from tests import factories
from tests.accounts.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(acme: Any, member: Any) -> User:
    return member(acme, Role.AGENT, email="ana@acme.test").user


def _logged_in(user: User) -> Client:
    client, answer = login(user.email)
    assert answer.status_code == 302, answer.content
    return client


def _session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _tokens(user: User, tenant: Any) -> dict[str, str]:
    return tokens_issue(access=TenantAccess(user=user, tenant=tenant, role=Role.AGENT))


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _turn_on(client: Client) -> Any:
    client.post("/account/two-factor/start")
    page = client.get("/account/security/").content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)  # type: ignore[union-attr]
    return client.post("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})


def test_every_session_is_recorded_at_login_and_forgotten_at_logout(agent: User) -> None:
    first, second = _logged_in(agent), _logged_in(agent)

    keys = {_session_key(first), _session_key(second)}
    recorded = set(LoginSession.objects.filter(user=agent).values_list("session_key", flat=True))
    first.post("/logout/")

    assert recorded == keys and len(keys) == 2
    assert set(LoginSession.objects.values_list("session_key", flat=True)) == {_session_key(second)}


def test_turning_it_on_ends_the_other_sessions_and_keeps_this_one_as_it_was(agent: User, acme: Any) -> None:
    here, elsewhere = _logged_in(agent), _logged_in(agent)
    here_key, elsewhere_key = _session_key(here), _session_key(elsewhere)

    confirmed = _turn_on(here)

    assert confirmed.status_code == 200
    # The same key (the cookie is sent again, as for any change to the session, with the same value).
    assert confirmed.cookies[settings.SESSION_COOKIE_NAME].value == here_key
    assert _session_key(here) == here_key and Session.objects.filter(session_key=here_key).exists()
    assert not Session.objects.filter(session_key=elsewhere_key).exists()
    assert list(LoginSession.objects.values_list("session_key", flat=True)) == [here_key]
    assert here.get("/inbox/").status_code == 200
    assert here.get("/inbox/counts/").status_code == 200  # the inbox page's own requests
    assert here.get("/api/v1/conversations").status_code == 200
    assert elsewhere.get("/inbox/").status_code == 302
    assert elsewhere.get("/api/v1/conversations").status_code in (401, 403)


def test_turning_it_on_ends_every_jwt_issued_before(agent: User, acme: Any, monkeypatch: Any) -> None:
    before = _issued_seconds_ago(monkeypatch, agent, acme)
    here = _logged_in(agent)

    _turn_on(here)

    answer = _bearer(before["access"]).get("/api/v1/conversations")
    refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": before["refresh"]}, format="json")
    after = APIClient().post("/api/v1/auth/token", {"email": agent.email, "password": PASSWORD,
                                                     "otp": pyotp.TOTP(_secret(agent)).at(timezone.now()
                                                                                          + dt.timedelta(seconds=30))},
                             format="json")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "token_revoked"
    assert refreshed.status_code == 401
    assert after.status_code == 200, after.content
    assert _bearer(after.json()["access"]).get("/api/v1/conversations").status_code == 200


def _issued_seconds_ago(monkeypatch: Any, user: User, tenant: Any) -> dict[str, str]:
    """A pair issued a few seconds ago (tokens carry their issue time in whole seconds: one issued
    in the very second two-factor login is turned on outlives it, for its 5 minutes)."""
    import rest_framework_simplejwt.tokens as simplejwt_tokens

    earlier = timezone.now() - dt.timedelta(seconds=3)
    with monkeypatch.context() as patched:
        patched.setattr(simplejwt_tokens, "aware_utcnow", lambda: earlier)
        return _tokens(user, tenant)


def _secret(user: User) -> str:
    import base64

    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return base64.b32encode(device.bin_key).decode()


def test_the_service_blacklists_refresh_tokens_and_marks_access_tokens(agent: User, acme: Any, events: list,
                                                                       django_capture_on_commit_callbacks: Any) -> None:
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    first, second = _tokens(agent, acme), _tokens(agent, acme)
    other_user = factories.MembershipFactory(tenant=acme, role=Role.AGENT).user
    theirs = _tokens(other_user, acme)
    here, elsewhere = _logged_in(agent), _logged_in(agent)

    with django_capture_on_commit_callbacks(execute=True):
        ended = logins_end_others(user=agent, current_session_key=_session_key(here))

    assert (ended.sessions, ended.tokens) == (1, 2)
    assert set(BlacklistedToken.objects.values_list("token__user_id", flat=True)) == {agent.pk}
    assert OutstandingToken.objects.filter(user=other_user, blacklistedtoken__isnull=True).count() == 1
    agent.refresh_from_db()
    assert agent.tokens_valid_after is not None
    assert Session.objects.filter(session_key=_session_key(here)).exists()
    assert not Session.objects.filter(session_key=_session_key(elsewhere)).exists()
    assert [(event.name, event.payload()) for event in events if event.name == "user.logins_ended"] == [
        ("user.logins_ended", {"user_id": str(agent.public_id)})]
    assert first and second and theirs


def test_a_token_issued_before_the_mark_is_refused_and_one_issued_after_is_not(agent: User) -> None:
    from accounts.tokens import token_refusal

    agent.tokens_valid_after = timezone.now()
    mark = int(agent.tokens_valid_after.timestamp())

    refused = token_refusal({"hash_password": _hash(agent), "iat": mark - 1}, agent)
    assert refused is not None and refused[0] == "token_revoked"
    assert token_refusal({"hash_password": _hash(agent), "iat": mark}, agent) is None


def _hash(user: User) -> str:
    from rest_framework_simplejwt.utils import get_md5_hash_password

    return get_md5_hash_password(user.password)


def test_a_session_that_changed_its_password_is_still_found_and_ended(agent: User) -> None:
    """A password change gives the session a new key: it is recorded again, so turning two-factor
    login on elsewhere later still ends it."""
    changed = _logged_in(agent)
    old_key = _session_key(changed)
    answer = changed.post("/account/password/", {"old_password": PASSWORD, "new_password1": "Outra-senha-2026!",
                                                 "new_password2": "Outra-senha-2026!"})
    assert answer.status_code == 302, answer.content
    new_key = _session_key(changed)
    assert new_key != old_key
    here, _ = login(agent.email, password="Outra-senha-2026!")

    _turn_on(here)

    assert not Session.objects.filter(session_key=new_key).exists()
    assert changed.get("/inbox/").status_code == 302


def test_turning_it_on_is_audited_with_what_it_ended(agent: User, acme: Any) -> None:
    here, _elsewhere = _logged_in(agent), _logged_in(agent)
    _tokens(agent, acme)

    _turn_on(here)

    entry = AuditEntry.all_objects.get(tenant=acme, action="two_factor.enabled")
    assert entry.details == {"sessions_ended": 1, "refresh_tokens_ended": 1}
