"""Passwords: reset by email through a real SMTP server (the link read from the mail received),
the link refused once used or expired, a change that ends the other sessions and every JWT, and
Django's validators on every new password, in pt-BR."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditEntry, Role, User
from tests.accounts.conftest import Mailbox, login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Caju-Azul-Marte-27"


@pytest.fixture
def agent(acme: Any, member: Any) -> User:
    return member(acme, Role.AGENT, email="ana@acme.test").user


@pytest.fixture
def ask(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """ask(client, email) → the reset form posted, and the mail it queued sent. The mail is queued
    when the request's transaction commits, which a test's never does: it is run here, as it runs
    after a real request (a Celery task, eager in the tests)."""

    def post(client: Client, email: str, **extra: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/password-reset/", {"email": email}, **extra)

    return post


@pytest.fixture
def reset_link(ask: Any, smtp_server: Mailbox, settings: Any) -> Callable[[Client, User], str]:
    """reset_link(client, user) → the path of the link in the mail the user received."""

    def request(client: Client, user: User) -> str:
        asked = ask(client, user.email.upper())
        assert asked.status_code == 302 and asked["Location"] == "/password-reset/sent/"
        return smtp_server.link(settings.PUBLIC_BASE_URL)

    return request


def _set_password(client: Client, link: str, password: str = NEW_PASSWORD) -> Any:
    opened = client.get(link)
    assert opened.status_code == 302, opened.content  # Django moves the token out of the URL into the session
    return client.post(opened["Location"], {"new_password1": password, "new_password2": password})


def test_password_reset_round_trip_through_a_real_smtp_server(agent: User, smtp_server: Mailbox, settings: Any,
                                                              reset_link: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://inbox.example.com"
    client = Client()

    link = reset_link(client, agent)
    saved = _set_password(client, link)

    mail = smtp_server.messages[0]
    assert mail["To"] == agent.email and mail["From"] == settings.DEFAULT_FROM_EMAIL
    assert mail["Subject"] == "Redefina a senha da sua caixa de entrada"  # pt-BR, the default language
    assert saved.status_code == 302 and saved["Location"] == "/password-reset/done/"
    assert "_auth_user_id" not in client.session  # a reset logs nobody in
    assert login(agent.email, NEW_PASSWORD)[1].status_code == 302
    assert login(agent.email, PASSWORD)[1].status_code == 401


def test_the_reset_link_is_built_on_the_public_url_not_the_request_host(agent: User, smtp_server: Mailbox,
                                                                        settings: Any, ask: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://inbox.example.com"
    settings.ALLOWED_HOSTS = ["*"]

    ask(Client(), agent.email, HTTP_HOST="attacker.example")

    text = smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://inbox.example.com/password-reset/" in text and "attacker.example" not in text


def test_a_used_reset_link_is_refused(agent: User, reset_link: Any) -> None:
    client = Client()
    link = reset_link(client, agent)
    assert _set_password(client, link).status_code == 302

    assert AuditEntry.all_objects.filter(actor=agent, action="password.reset").count() == 1

    again = Client().get(link, follow=True)

    assert again.status_code == 200 and not again.context["validlink"]
    assert "Este link não funciona mais" in again.content.decode()
    assert login(agent.email, NEW_PASSWORD)[1].status_code == 302


def test_an_expired_reset_link_is_refused(agent: User, settings: Any, reset_link: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PASSWORD_RESET_TIMEOUT = 3600
    client = Client()
    link = reset_link(client, agent)

    later = datetime.now() + timedelta(seconds=3601)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    opened = client.get(link, follow=True)

    assert not opened.context["validlink"]
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)


def test_an_unknown_email_gets_the_same_answer_and_no_mail(smtp_server: Mailbox, ask: Any, db: None) -> None:
    answer = ask(Client(), "nobody@acme.test")

    assert answer.status_code == 302 and answer["Location"] == "/password-reset/sent/"
    assert smtp_server.messages == []


def test_a_reset_ends_the_old_sessions_and_tokens_and_lifts_a_lockout(agent: User, api: Any, reset_link: Any,
                                                                      settings: Any) -> None:
    membership = agent.memberships.get()
    session, _ = login(agent.email)
    integrator = api(membership)
    for index in range(settings.AXES_FAILURE_LIMIT):  # someone else locks the account
        login(agent.email, "wrong", REMOTE_ADDR=f"198.51.100.{index + 1}")
    assert login(agent.email)[1].status_code == 401

    client = Client()
    _set_password(client, reset_link(client, agent))

    assert session.get("/inbox/")["Location"].startswith("/login/")
    refused = integrator.get("/api/v1/conversations")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "password_changed"
    assert not AccessAttempt.objects.filter(username=agent.email).exists()
    assert login(agent.email, NEW_PASSWORD)[1].status_code == 302


@pytest.mark.parametrize("password, message", [
    ("12345678", "Esta senha é inteiramente numérica."),
    ("password", "Esta senha é muito comum."),
    ("Ab1-", "Esta senha é muito curta. Ela precisa conter pelo menos 8 caracteres."),
    ("ana@acme.test1", "A senha é muito parecida com email"),
])
def test_a_reset_refuses_a_weak_password_in_portuguese(agent: User, reset_link: Any, password: str,
                                                       message: str) -> None:
    client = Client()
    link = reset_link(client, agent)

    refused = _set_password(client, link, password)

    assert refused.status_code == 200
    assert message in refused.content.decode()
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)


def test_password_change_ends_the_other_sessions_and_every_jwt(agent: User, api: Any) -> None:
    here, _ = login(agent.email)
    elsewhere, _ = login(agent.email)
    integrator = api(agent.memberships.get())

    changed = here.post("/account/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                               "new_password2": NEW_PASSWORD})

    assert changed.status_code == 302 and changed["Location"] == "/account/security/"
    assert here.get("/inbox/").status_code == 200  # this session stays
    assert elsewhere.get("/inbox/")["Location"].startswith("/login/")
    refused = integrator.get("/api/v1/conversations")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "password_changed"
    token = APIClient().post("/api/v1/auth/token", {"email": agent.email, "password": NEW_PASSWORD}, format="json")
    assert token.status_code == 200
    assert AuditEntry.all_objects.filter(actor=agent, action="password.changed").count() == 1


def test_password_change_needs_the_current_password_and_a_strong_new_one(agent: User) -> None:
    client, _ = login(agent.email)

    wrong_current = client.post("/account/password/", {"old_password": "nope", "new_password1": NEW_PASSWORD,
                                                        "new_password2": NEW_PASSWORD})
    weak = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": "12345678",
                                              "new_password2": "12345678"})

    assert wrong_current.status_code == 200 and weak.status_code == 200
    assert "Esta senha é inteiramente numérica." in weak.content.decode()
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)


def test_the_login_page_links_to_the_reset(db: None) -> None:
    page = Client().get("/login/").content.decode()

    assert 'href="/password-reset/"' in page and "Esqueceu a senha?" in page


def test_password_forms_are_rate_limited(settings: Any, db: None) -> None:
    settings.FORM_RATE_LIMIT = 1
    client = Client()
    client.post("/password-reset/", {"email": "a@acme.test"})

    assert client.post("/password-reset/", {"email": "b@acme.test"}).status_code == 429
