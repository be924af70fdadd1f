"""Two-factor login (TOTP): enrolment with a QR code, the code step after the password (codes
computed with pyotp as an authenticator app does), single-use recovery codes, lockout on wrong
codes as on wrong passwords, turning it off, tenants that require it, and API tokens that ask
for the code."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.two_factor import recovery_code_digest, two_factor_enabled
from tests.accounts.conftest import Authenticator, enrol, login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(acme: Any, member: Any) -> User:
    return member(acme, Role.AGENT, email="ana@acme.test").user


def _code_step(client: Client, code: str) -> Any:
    return client.post("/login/code/", {"code": code, "next": "/inbox/"})


def _token(email: str, **fields: str) -> Any:
    return APIClient().post("/api/v1/auth/token", {"email": email, "password": PASSWORD, **fields}, format="json")


def test_enrolment_shows_a_qr_code_then_a_code_turns_it_on_with_recovery_codes_shown_once(
        agent: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the right code at once after a wrong one (django-otp waits a second)
    client, _ = login(agent.email)
    off = client.get("/account/security/").content.decode()

    client.post("/account/two-factor/start")
    pending = client.get("/account/security/").content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', pending).group(1)  # type: ignore[union-attr]
    wrong = client.post("/account/two-factor/confirm", {"code": "000000"})
    enabled_after_wrong = two_factor_enabled(user=agent)
    confirmed = client.post("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    after = client.get("/account/security/").content.decode()

    assert 'data-state="off"' in off
    assert re.search(r'<img class="qr" src="data:image/png;base64,[A-Za-z0-9+/=]+"', pending)
    assert wrong.status_code == 400 and not enabled_after_wrong
    assert confirmed.status_code == 200 and two_factor_enabled(user=agent)
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", confirmed.content.decode())
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert len(codes) == 10 and stored == {recovery_code_digest(code) for code in codes}
    assert not stored & set(codes)  # kept as digests, never as the codes
    assert 'data-state="on"' in after and not any(code in after for code in codes)  # shown once
    assert client.get("/inbox/").status_code == 200  # this session counts as verified


def test_login_asks_for_the_code_after_the_password(agent: User) -> None:
    authenticator = enrol(agent)

    client, password_step = login(agent.email)
    before_code = client.get("/inbox/")
    logged_in = _code_step(client, authenticator.code(steps_ahead=1))

    assert password_step.status_code == 302 and password_step["Location"] == "/login/code/?next=/inbox/"
    assert before_code.status_code == 302 and before_code["Location"].startswith("/login/")
    assert logged_in.status_code == 302 and logged_in["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200


def test_a_wrong_code_or_a_replayed_one_does_not_log_in(agent: User) -> None:
    authenticator = enrol(agent)
    code = authenticator.code(steps_ahead=1)
    first, _ = login(agent.email)
    assert _code_step(first, code).status_code == 302

    replay, _ = login(agent.email)
    replayed = _code_step(replay, code)
    wrong_client, _ = login(agent.email)
    wrong = _code_step(wrong_client, "123456" if code != "123456" else "654321")

    assert replayed.status_code == 401 and "_auth_user_id" not in replay.session
    assert wrong.status_code == 401 and "_auth_user_id" not in wrong_client.session
    assert "Esse código não está certo." in wrong.content.decode()


def test_a_recovery_code_logs_in_once(agent: User) -> None:
    authenticator = enrol(agent)
    recovery = authenticator.recovery_codes[0]

    first, _ = login(agent.email)
    used = _code_step(first, recovery.upper())  # as typed from paper
    second, _ = login(agent.email)
    reused = _code_step(second, recovery)

    assert used.status_code == 302 and "_auth_user_id" in first.session
    assert reused.status_code == 401 and "_auth_user_id" not in second.session
    assert StaticToken.objects.count() == len(authenticator.recovery_codes) - 1


def test_wrong_codes_lock_the_account_as_wrong_passwords_do(agent: User, settings: Any) -> None:
    authenticator = enrol(agent)
    for index in range(settings.AXES_FAILURE_LIMIT):
        client, _ = login(agent.email, REMOTE_ADDR=f"198.51.100.{index + 1}")
        assert _code_step(client, "000000").status_code == 401

    client, password_step = login(agent.email, REMOTE_ADDR="192.0.2.7")
    wrong_password = login(agent.email, "wrong", REMOTE_ADDR="192.0.2.8")[1]

    assert AccessAttempt.objects.filter(username=agent.email).exists()
    csrf = re.compile(rb"[A-Za-z0-9]{64}")
    assert password_step.status_code == wrong_password.status_code == 401
    assert csrf.sub(b"", password_step.content) == csrf.sub(b"", wrong_password.content)  # as a wrong password
    assert "_auth_user_id" not in client.session
    token = _token(agent.email, otp=authenticator.code(steps_ahead=1))
    assert token.status_code == 401 and token.json()["error"]["code"] == "invalid_credentials"


def test_a_locked_account_refuses_even_the_right_code(agent: User, settings: Any) -> None:
    authenticator = enrol(agent)
    client, _ = login(agent.email)  # the password was right before the lock
    for index in range(settings.AXES_FAILURE_LIMIT):
        login(agent.email, "wrong", REMOTE_ADDR=f"198.51.100.{index + 1}")

    refused = _code_step(client, authenticator.code(steps_ahead=1))

    assert refused.status_code == 401 and "_auth_user_id" not in client.session


def test_the_code_step_expires(agent: User, settings: Any) -> None:
    authenticator = enrol(agent)
    client, _ = login(agent.email)
    settings.TWO_FACTOR_CODE_SECONDS = 0

    late = _code_step(client, authenticator.code(steps_ahead=1))

    assert late.status_code == 302 and late["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_a_session_opened_by_the_admin_login_is_sent_to_the_code_step(acme: Any, member: Any) -> None:
    staff = member(acme, Role.TENANT_ADMIN, is_staff=True, is_superuser=True, email="root@acme.test").user
    enrol(staff)
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})

    admin = client.get("/admin/")

    assert admin.status_code == 302 and admin["Location"] == "/login/?next=/admin/"
    assert "_auth_user_id" not in client.session


def test_turning_it_off_takes_a_code_or_the_password(agent: User) -> None:
    authenticator = enrol(agent)
    client, _ = login(agent.email)
    _code_step(client, authenticator.code(steps_ahead=1))

    client.post("/account/two-factor/disable", {"password": "wrong", "code": "000000"})
    still_on = two_factor_enabled(user=agent)
    client.post("/account/two-factor/disable", {"password": PASSWORD})

    assert still_on
    assert not two_factor_enabled(user=agent) and not StaticToken.objects.exists()
    assert login(agent.email)[1]["Location"] == "/inbox/"  # the password alone again


# --- Tenants that require it ---------------------------------------------------------


def test_a_member_of_a_tenant_that_requires_it_is_sent_to_enrol_and_can_use_nothing_else(
        acme: Any, agent: User) -> None:
    acme.two_factor_required = True
    acme.save()
    client, logged_in = login(agent.email)

    inbox = client.get("/inbox/")
    api = client.get("/api/v1/conversations")
    settings_page = client.get("/settings/channels/")
    security = client.get("/account/security/")

    assert logged_in.status_code == 302
    assert inbox.status_code == 302 and inbox["Location"] == "/account/security/"
    assert settings_page.status_code == 302 and settings_page["Location"] == "/account/security/"
    assert api.status_code == 403 and api.json()["error"]["code"] == "two_factor_required"
    assert security.status_code == 200 and "exige login em duas etapas" in security.content.decode()

    client.post("/account/two-factor/start")
    secret = TOTPDevice.objects.get(user=agent).config_url.split("secret=")[1].split("&")[0]
    client.post("/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()})

    assert client.get("/inbox/").status_code == 200
    assert client.get("/api/v1/conversations").status_code == 200


def test_tenant_admins_require_it_on_the_security_settings_page(acme: Any, member: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN, email="chefe@acme.test").user
    manager = member(acme, Role.MANAGER, email="gerente@acme.test").user
    admin_client, _ = login(admin.email)

    refused = admin_client.post("/settings/security/", {"two_factor_required": "on"}, follow=True)
    acme.refresh_from_db()
    assert not acme.two_factor_required
    assert "Ative o login em duas etapas na sua própria conta primeiro." in refused.content.decode()

    authenticator = enrol(admin)
    admin_client, _ = login(admin.email)
    _code_step(admin_client, authenticator.code(steps_ahead=1))
    saved = admin_client.post("/settings/security/", {"two_factor_required": "on"})
    acme.refresh_from_db()
    manager_client, _ = login(manager.email)

    assert saved.status_code == 302 and acme.two_factor_required
    assert admin_client.get("/settings/security/").status_code == 200
    assert manager_client.get("/settings/security/")["Location"] == "/account/security/"  # not enrolled
    enrol_codes = enrol(manager).recovery_codes
    manager_client, _ = login(manager.email)
    manager_client.post("/login/code/", {"code": enrol_codes[0]})
    assert manager_client.get("/settings/security/").status_code == 403  # not an administrator


# --- API tokens ------------------------------------------------------------------------


def test_a_token_for_an_account_with_two_factor_login_needs_its_code(agent: User) -> None:
    authenticator: Authenticator = enrol(agent)

    missing = _token(agent.email)
    issued = _token(agent.email, otp=authenticator.code(steps_ahead=1))
    wrong = _token(agent.email, otp="000000")
    with_recovery = _token(agent.email, otp=authenticator.recovery_codes[0])

    assert missing.status_code == 401 and missing.json()["error"]["code"] == "otp_required"
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "otp_invalid"
    assert issued.status_code == 200 and with_recovery.status_code == 200
    usable = APIClient()
    usable.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.json()['access']}")
    assert usable.get("/api/v1/conversations").status_code == 200


def test_a_token_without_two_factor_login_needs_no_code(agent: User) -> None:
    assert _token(agent.email).status_code == 200


def test_a_tenant_that_requires_it_refuses_tokens_issued_without_a_code(acme: Any, agent: User, api: Any) -> None:
    old = api(agent.memberships.get())  # issued before the tenant required it
    acme.two_factor_required = True
    acme.save()

    refused_issue = _token(agent.email)
    refused_use = old.get("/api/v1/conversations")
    refused_refresh = APIClient().post("/api/v1/auth/refresh", {"refresh": old.tokens["refresh"]}, format="json")
    authenticator = enrol(agent)
    issued = _token(agent.email, otp=authenticator.code(steps_ahead=1))
    refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": issued.json()["refresh"]}, format="json")

    assert refused_issue.status_code == 403 and refused_issue.json()["error"]["code"] == "two_factor_required"
    assert refused_use.status_code == 401 and refused_use.json()["error"]["code"] == "two_factor_required"
    assert refused_refresh.status_code == 403
    assert issued.status_code == 200 and refreshed.status_code == 200


def test_the_schema_documents_the_code(client: Client) -> None:
    schema = client.get("/api/v1/schema/?format=json").json()

    token_request = schema["components"]["schemas"]["TokenObtainInputRequest"]["properties"]
    assert "otp" in token_request and "otp_required" in token_request["otp"]["description"]
    responses = schema["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "otp_invalid" in responses["401"]["description"]


def test_the_code_step_is_under_the_form_rate_limit(agent: User, settings: Any) -> None:
    enrol(agent)
    client, _ = login(agent.email, REMOTE_ADDR="198.51.100.60")
    settings.FORM_RATE_LIMIT = 1  # the password's post was counted before this limit (10,000)

    client.post("/login/code/", {"code": "000000"}, REMOTE_ADDR="198.51.100.60")
    limited = client.post("/login/code/", {"code": "000000"}, REMOTE_ADDR="198.51.100.60")

    assert limited.status_code == 429 and "Retry-After" in limited


def test_staff_see_and_change_the_requirement_in_django_admin(admin_client: Client, acme: Any) -> None:
    page = admin_client.get(f"/admin/tenants/tenant/{acme.pk}/change/").content.decode()

    assert 'name="two_factor_required"' in page


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(agent: User, settings: Any) -> None:
    settings.OTP_STATIC_THROTTLE_FACTOR = 0  # a new code at once after an old one (django-otp waits a second)
    authenticator = enrol(agent)
    client, _ = login(agent.email)
    _code_step(client, authenticator.code(steps_ahead=1))

    refused = client.post("/account/two-factor/recovery-codes", {"password": "wrong"})
    renewed = client.post("/account/two-factor/recovery-codes", {"password": PASSWORD})

    assert refused.status_code == 302
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", renewed.content.decode())
    assert len(codes) == 10 and not set(codes) & set(authenticator.recovery_codes)
    old, _ = login(agent.email)
    assert _code_step(old, authenticator.recovery_codes[0]).status_code == 401
    new, _ = login(agent.email)
    assert _code_step(new, codes[0]).status_code == 302


def test_turning_it_on_and_off_and_new_recovery_codes_are_in_the_audit_log(acme: Any, globex: Any, member: Any,
                                                                          agent: User) -> None:
    from accounts.models import AuditEntry
    from accounts.two_factor import two_factor_disable, two_factor_recovery_codes_renew
    from tests import factories

    factories.MembershipFactory(tenant=globex, role=Role.VIEWER, user=agent)  # the same account elsewhere too
    enrol(agent)
    two_factor_recovery_codes_renew(user=agent, password=PASSWORD)
    two_factor_disable(user=agent, password=PASSWORD)

    for tenant in (acme, globex):
        actions = list(AuditEntry.all_objects.filter(tenant=tenant, actor=agent).order_by("id")
                       .values_list("action", flat=True))
        assert actions == ["two_factor.enabled", "two_factor.recovery_codes_renewed", "two_factor.disabled"]


def test_recovery_codes_stored_before_digests_still_log_in_once_after_the_migration(agent: User) -> None:
    """A code written down before codes were kept as digests: the migration turns the stored
    code into its digest, and the code still works, once."""
    import importlib

    from django.apps import apps as django_apps

    authenticator = enrol(agent)
    old_code = authenticator.recovery_codes[0]
    token = StaticToken.objects.get(token=recovery_code_digest(old_code))
    token.token = old_code  # as it was stored before
    token.save(update_fields=["token"])
    migration = importlib.import_module("accounts.migrations.0004_recovery_codes_digests")

    migration.codes_to_digests(django_apps, None)

    assert StaticToken.objects.filter(token=old_code).count() == 0
    first, _ = login(agent.email)
    assert _code_step(first, old_code).status_code == 302
    second, _ = login(agent.email)
    assert _code_step(second, old_code).status_code == 401

