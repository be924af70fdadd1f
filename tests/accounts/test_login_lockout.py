"""Brute force against the three doors that take a password: the inbox's /login/, Django
admin's /admin/login/ and the API's /auth/token. Failures are counted per account across
client addresses and per client address across accounts (django-axes, in the database); a
locked door answers exactly as a wrong password does; a lockout ends by itself or when staff
lift it; the client address comes from X-Forwarded-For only through a trusted proxy."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
WRONG = "not-the-password"
CSRF_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")  # a masked CSRF token, in the form and in htmx's headers


@dataclass(frozen=True)
class Door:
    name: str
    post: Callable[..., Any]
    logged_in: Callable[[Any, Any], bool]

    def attempt(self, client: Any, email: str, password: str, ip: str, **extra: Any) -> Any:
        return self.post(client, email, password, REMOTE_ADDR=ip, **extra)


def _inbox_post(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post("/login/", {"email": email, "password": password}, **extra)


def _admin_post(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password, "next": "/admin/"},
                       **extra)


def _api_post(client: Client, email: str, password: str, **extra: Any) -> Any:
    return APIClient().post("/api/v1/auth/token", {"email": email, "password": password}, format="json", **extra)


DOORS = [
    Door("inbox", _inbox_post, lambda response, client: response.status_code == 302
         and "_auth_user_id" in client.session),
    Door("admin", _admin_post, lambda response, client: response.status_code == 302
         and "_auth_user_id" in client.session),
    Door("api", _api_post, lambda response, client: response.status_code == 200 and "access" in response.json()),
]


def _answer(response: Any) -> tuple[int, bytes]:
    """What a client learns from an answer: its status and body (the CSRF token of a form
    differs on every page, by design)."""
    return response.status_code, CSRF_TOKEN.sub(b"", response.content)


@pytest.fixture(autouse=True)
def _forms_not_rate_limited(settings: Any) -> None:
    """These tests count failures, not requests: the per-address request limit of the forms
    (tests/accounts/test_form_rate_limit.py) is out of their way."""
    settings.FORM_RATE_LIMIT = 10_000
    settings.API_RATE_LIMIT_AUTH = 10_000


@pytest.fixture
def staff_member(acme: Any, member: Any) -> User:
    """A platform superuser who is also a member of acme: every door lets them in."""
    return member(acme, Role.TENANT_ADMIN, is_staff=True, is_superuser=True, email="root@acme.test").user


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.name)
def test_account_locks_after_failures_from_many_addresses(door: Door, staff_member: User, settings: Any) -> None:
    for index in range(settings.AXES_FAILURE_LIMIT):
        door.attempt(Client(), staff_member.email, WRONG, f"198.51.100.{index + 1}")

    client = Client()
    locked = door.attempt(client, staff_member.email, PASSWORD, "192.0.2.200")
    wrong = door.attempt(Client(), staff_member.email, WRONG, "192.0.2.201")

    assert not door.logged_in(locked, client)
    assert _answer(locked) == _answer(wrong)  # a locked account looks like a wrong password
    assert AccessAttempt.objects.filter(username=staff_member.email).count() == settings.AXES_FAILURE_LIMIT + 2


def test_inbox_login_locks_an_account_tried_from_ten_addresses(acme: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT).user
    first_wrong = _inbox_post(Client(), agent.email, WRONG, REMOTE_ADDR="198.51.100.1")
    for index in range(2, 11):
        _inbox_post(Client(), agent.email, WRONG, REMOTE_ADDR=f"198.51.100.{index}")

    client = Client()
    locked = _inbox_post(client, agent.email, PASSWORD, REMOTE_ADDR="192.0.2.77")

    assert locked.status_code == 401 and "_auth_user_id" not in client.session
    assert _answer(locked) == _answer(first_wrong)
    # audited: every failure, the ones after the lock marked so
    failures = AccessFailureLog.objects.filter(username=agent.email)
    assert failures.count() == 11
    assert failures.filter(locked_out=True).exists()


def test_inbox_login_locks_an_address_that_tries_thirty_accounts(acme: Any, member: Any, settings: Any) -> None:
    agent = member(acme, Role.AGENT).user
    attacker = "203.0.113.9"
    answers = {_inbox_post(Client(), f"someone{index}@acme.test", WRONG, REMOTE_ADDR=attacker).status_code
               for index in range(30)}

    client = Client()
    from_attacker = _inbox_post(client, agent.email, PASSWORD, REMOTE_ADDR=attacker)
    elsewhere = Client()
    from_elsewhere = _inbox_post(elsewhere, agent.email, PASSWORD, REMOTE_ADDR="192.0.2.10")

    assert answers == {401}
    assert from_attacker.status_code == 401 and "_auth_user_id" not in client.session
    assert from_elsewhere.status_code == 302 and "_auth_user_id" in elsewhere.session
    assert AccessLog.objects.filter(username=agent.email, ip_address="192.0.2.10").count() == 1  # audited


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.name)
def test_lockout_ends_after_the_cool_off(door: Door, staff_member: User, settings: Any) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    for index in range(settings.AXES_FAILURE_LIMIT):
        door.attempt(Client(), staff_member.email, WRONG, f"198.51.100.{index + 1}")
    client = Client()
    assert not door.logged_in(door.attempt(client, staff_member.email, PASSWORD, "192.0.2.1"), client)

    # a minute and a second later (the attempts' clock moved back instead of waiting)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=61))

    client = Client()
    assert door.logged_in(door.attempt(client, staff_member.email, PASSWORD, "192.0.2.1"), client)


def test_staff_lift_a_lockout_from_the_user_admin(acme: Any, member: Any, settings: Any) -> None:
    agent = member(acme, Role.AGENT).user
    for index in range(settings.AXES_FAILURE_LIMIT):
        _inbox_post(Client(), agent.email, WRONG, REMOTE_ADDR=f"198.51.100.{index + 1}")
    locked = Client()
    assert _inbox_post(locked, agent.email, PASSWORD, REMOTE_ADDR="192.0.2.1").status_code == 401
    staff = Client()
    staff.force_login(User.objects.create_superuser("staff@example.test", "staff-pass-2026"))

    listed = staff.get("/admin/axes/accessattempt/?q=" + agent.email)
    attempt = AccessAttempt.objects.filter(username=agent.email).first()
    unlocked = staff.post("/admin/accounts/user/", {"action": "login_unlock", "_selected_action": [agent.pk]},
                          follow=True)
    client = Client()
    after = _inbox_post(client, agent.email, PASSWORD, REMOTE_ADDR="192.0.2.1")

    assert listed.status_code == 200
    assert attempt is not None and f"/admin/axes/accessattempt/{attempt.pk}/change/" in listed.content.decode()
    assert unlocked.status_code == 200
    assert not AccessAttempt.objects.filter(username=agent.email).exists()
    assert after.status_code == 302 and "_auth_user_id" in client.session
    history = LogEntry.objects.get(object_id=str(agent.pk))  # audited in the admin's history
    assert history.user.email == "staff@example.test" and "unlocked" in history.get_change_message()


def test_api_logins_are_audited_with_the_client_address(staff_member: User, settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    response = _api_post(Client(), staff_member.email, PASSWORD, REMOTE_ADDR="10.0.0.1",
                         HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert response.status_code == 200
    log = AccessLog.objects.get(username=staff_member.email)
    assert (log.ip_address, log.path_info) == ("203.0.113.8", "/api/v1/auth/token")


def test_forwarded_for_counts_only_through_a_trusted_proxy(acme: Any, member: Any, settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    agent = member(acme, Role.AGENT).user
    limit = settings.LOGIN_IP_FAILURE_LIMIT

    # A client that is no proxy of ours makes up a new X-Forwarded-For every time: its own
    # address is what counts, and it is locked out.
    for index in range(limit):
        _inbox_post(Client(), f"someone{index}@acme.test", WRONG, REMOTE_ADDR="198.51.100.50",
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{index + 1}")
    spoofer = Client()
    spoofed = _inbox_post(spoofer, agent.email, PASSWORD, REMOTE_ADDR="198.51.100.50",
                          HTTP_X_FORWARDED_FOR="192.0.2.99")

    # Through our proxy, each client is its own address: one is locked, its neighbour is not.
    for index in range(limit):
        _inbox_post(Client(), f"other{index}@acme.test", WRONG, REMOTE_ADDR="10.1.2.3",
                    HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.200")
    locked, neighbour = Client(), Client()
    locked_answer = _inbox_post(locked, agent.email, PASSWORD, REMOTE_ADDR="10.1.2.3",
                                HTTP_X_FORWARDED_FOR="203.0.113.200")
    neighbour_answer = _inbox_post(neighbour, agent.email, PASSWORD, REMOTE_ADDR="10.1.2.3",
                                   HTTP_X_FORWARDED_FOR="203.0.113.201")

    assert spoofed.status_code == 401 and "_auth_user_id" not in spoofer.session
    assert locked_answer.status_code == 401 and "_auth_user_id" not in locked.session
    assert neighbour_answer.status_code == 302 and "_auth_user_id" in neighbour.session
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) >= {"198.51.100.50", "203.0.113.200"}
    assert not AccessAttempt.objects.filter(ip_address__in=["10.1.2.3", "192.0.2.99"]).exists()
