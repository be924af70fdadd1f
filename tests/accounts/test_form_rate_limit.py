"""The HTML forms that take a password (the inbox's login, Django admin's login and password
change) are limited per client address, whatever the account: beyond FORM_RATE_LIMIT posts a
minute the answer is 429 with Retry-After, before any password is checked."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_window() -> None:
    """The limit counts per minute (a window that starts on the minute): a test's posts all fall
    in one, not in the last seconds of one and the first of the next (a loaded machine hashes
    slowly)."""
    into = time.time() % 60
    if into > 45:
        time.sleep(60.5 - into)


@pytest.mark.parametrize("path, fields", [
    ("/login/", {"email": "x@acme.test", "password": "nope"}),
    ("/admin/login/", {"username": "x@acme.test", "password": "nope"}),
])
def test_login_forms_answer_429_beyond_the_limit_per_address(path: str, fields: dict[str, str],
                                                             settings: Any) -> None:
    settings.FORM_RATE_LIMIT = 3
    client = Client()

    statuses = [client.post(path, {**fields, "email": f"u{index}@acme.test", "username": f"u{index}@acme.test"},
                            REMOTE_ADDR="198.51.100.3").status_code for index in range(3)]
    refused = client.post(path, fields, REMOTE_ADDR="198.51.100.3")
    elsewhere = Client().post(path, fields, REMOTE_ADDR="198.51.100.4")

    assert 429 not in statuses
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert elsewhere.status_code != 429
    assert client.get(path, REMOTE_ADDR="198.51.100.3").status_code == 200  # reading the form is not limited


def test_a_good_password_is_refused_too_once_over_the_limit(acme: Any, member: Any, settings: Any) -> None:
    settings.FORM_RATE_LIMIT = 2
    agent = member(acme, Role.AGENT).user
    client = Client()
    for _ in range(2):
        client.post("/login/", {"email": agent.email, "password": "nope"})

    refused = client.post("/login/", {"email": agent.email, "password": PASSWORD})

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_password_change_is_limited(settings: Any) -> None:
    settings.FORM_RATE_LIMIT = 2
    staff = User.objects.create_superuser("staff@example.test", "staff-pass-2026")
    client = Client()
    client.force_login(staff)
    form = {"old_password": "wrong", "new_password1": "x-New-pass-2026", "new_password2": "x-New-pass-2026"}

    statuses = [client.post("/admin/password_change/", form).status_code for _ in range(3)]
    own_page = client.post(f"/admin/accounts/user/{staff.pk}/password/",
                           {"password1": "x-New-pass-2026", "password2": "x-New-pass-2026"})

    assert statuses == [200, 200, 429]
    assert own_page.status_code == 429  # one budget for the address across the password forms
