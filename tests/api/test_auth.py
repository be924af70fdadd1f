from __future__ import annotations

import jwt
import pytest
from django.conf import settings

from accounts.models import Membership, Role
from accounts.services import membership_change_role, membership_remove
from tenants.models import Tenant
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, email, password=PASSWORD, tenant=None):
    body = {"email": email, "password": password}
    if tenant:
        body["tenant"] = tenant
    return client.post("/api/v1/auth/token", body, format="json")


def _claims(token: str) -> dict:
    return jwt.decode(token, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])


def test_token_carries_user_tenant_and_role(acme, member, api):
    admin = member(acme, Role.TENANT_ADMIN)

    response = _login(api(), admin.user.email)

    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == "acme" and body["role"] == "TENANT_ADMIN"
    claims = _claims(body["access"])
    assert claims["user_id"] == str(admin.user.public_id)  # public ids: no integer leaves the server
    assert claims["tenant_id"] == str(acme.public_id)
    assert claims["role"] == "TENANT_ADMIN"
    assert claims["token_type"] == "access"
    assert claims["exp"] - claims["iat"] <= 15 * 60  # short-lived


def test_wrong_password_is_a_clear_401(acme, member, api):
    agent = member(acme, Role.AGENT)

    response = _login(api(), agent.user.email, password="nope")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "access" not in response.json()


def test_member_of_several_tenants_must_choose_one(acme, globex, member, api):
    agent = member(acme, Role.AGENT)
    factories.MembershipFactory(tenant=globex, user=agent.user, role=Role.VIEWER)

    undecided = _login(api(), agent.user.email)
    chosen = _login(api(), agent.user.email, tenant="globex")
    foreign = _login(api(), agent.user.email, tenant=factories.TenantFactory(slug="initech").slug)

    assert undecided.status_code == 422  # well-formed; which tenant it means is unclear
    assert undecided.json()["error"]["code"] == "tenant_required"
    assert undecided.json()["error"]["details"]["choices"] == ["acme", "globex"]
    assert chosen.status_code == 200 and chosen.json()["role"] == "VIEWER"
    assert _claims(chosen.json()["access"])["tenant_id"] == str(globex.public_id)
    assert foreign.status_code == 404


def test_superuser_acts_as_super_admin_in_any_tenant(acme, api):
    root = factories.UserFactory(is_superuser=True, is_staff=True)

    response = _login(api(), root.email, tenant="acme")

    assert response.status_code == 200
    assert response.json()["role"] == "SUPER_ADMIN"


def test_refresh_rotates_and_a_used_refresh_token_is_refused(acme, member, api):
    agent = member(acme, Role.AGENT)
    first = _login(api(), agent.user.email).json()

    rotated = api().post("/api/v1/auth/refresh", {"refresh": first["refresh"]}, format="json")
    replayed = api().post("/api/v1/auth/refresh", {"refresh": first["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    assert _claims(rotated.json()["access"])["tenant_id"] == str(acme.public_id)
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "token_not_valid"


def test_revoked_refresh_token_is_refused(acme, member, api):
    agent = member(acme, Role.AGENT)
    tokens = _login(api(), agent.user.email).json()

    revoked = api().post("/api/v1/auth/revoke", {"refresh": tokens["refresh"]}, format="json")
    refreshed = api().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert revoked.status_code == 204
    assert refreshed.status_code == 401


def test_garbage_tokens_are_401_not_500(api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    assert client.get("/api/v1/conversations").status_code == 401
    assert api().post("/api/v1/auth/refresh", {"refresh": "garbage"}, format="json").status_code == 401
    assert api().post("/api/v1/auth/revoke", {"refresh": "garbage"}, format="json").status_code == 401


def test_removed_member_loses_access_at_once(acme, member, api):
    agent = member(acme, Role.AGENT)
    client = api(agent)
    assert client.get("/api/v1/conversations").status_code == 200

    membership_remove(membership=agent)

    response = client.get("/api/v1/conversations")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "membership_revoked"
    refreshed = api().post("/api/v1/auth/refresh", {"refresh": client.tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401


def test_changed_role_makes_old_tokens_stale_and_refresh_carries_the_new_role(acme, member, api):
    manager = member(acme, Role.MANAGER)
    client = api(manager)

    membership_change_role(membership=manager, role=Role.VIEWER)

    stale = client.get("/api/v1/channels")
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "token_stale"
    refreshed = api().post("/api/v1/auth/refresh", {"refresh": client.tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert refreshed.json()["role"] == "VIEWER"
    viewer = api()
    viewer.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert viewer.post("/api/v1/channels", {"kind": "api", "name": "x"}, format="json").status_code == 403


def test_suspended_tenant_refuses_work_with_a_clear_error(acme, member, api):
    agent = member(acme, Role.AGENT)
    client = api(agent)
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.SUSPENDED)

    response = client.get("/api/v1/conversations")
    login = _login(api(), agent.user.email)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"
    assert login.status_code == 403


def test_inactive_user_cannot_log_in_or_use_tokens(acme, member, api):
    agent = member(acme, Role.AGENT)
    client = api(agent)
    agent.user.is_active = False
    agent.user.save()

    assert _login(api(), agent.user.email).status_code == 401
    assert client.get("/api/v1/conversations").status_code == 401
    assert Membership.all_objects.filter(pk=agent.pk).exists()
