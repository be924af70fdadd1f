"""CORS on /api/: origins the operator lists (CORS_ALLOWED_ORIGINS) and those a tenant lists on
Settings → Security get the headers; any other origin, and any path outside /api/, none; a
tenant's origin reads only that tenant's answers."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create
from accounts.cors import tenant_cors_origins_set
from accounts.models import AuditEntry, Role
from tenants.models import Tenant
from tests.accounts.conftest import login

pytestmark = pytest.mark.django_db

PREFLIGHT = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
             "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, x-api-key, content-type"}


def _preflight(path: str, origin: str) -> Any:
    return APIClient().options(path, HTTP_ORIGIN=origin, **PREFLIGHT)


def _key_client(membership: Any) -> APIClient:
    client = APIClient()
    created = api_key_create(tenant=membership.tenant, actor=membership.user, name="Web", scope="read")
    client.credentials(HTTP_X_API_KEY=created.key)
    return client


def test_a_preflight_from_an_origin_of_the_environment_gets_the_headers(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    response = _preflight("/api/v1/conversations", "https://app.example.com")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = {header.strip() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "x-api-key", "content-type"} <= allowed
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response  # tokens in headers, never cookies


def test_another_origin_and_paths_outside_the_api_get_no_cors_headers(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    other = _preflight("/api/v1/conversations", "https://evil.example.net")
    outside = _preflight("/settings/api-keys/", "https://app.example.com")

    assert "Access-Control-Allow-Origin" not in other
    assert "Access-Control-Allow-Origin" not in outside


def test_by_default_no_origin_is_allowed() -> None:
    assert "Access-Control-Allow-Origin" not in _preflight("/api/v1/conversations", "https://app.example.com")


def test_a_tenants_origin_is_answered_and_reads_only_that_tenants_answers(acme: Any, globex: Any,
                                                                          member: Any) -> None:
    acme_admin, globex_admin = member(acme, Role.TENANT_ADMIN), member(globex, Role.TENANT_ADMIN)
    tenant_cors_origins_set(tenant=acme, actor=acme_admin.user, origins=["https://Portal.Acme.test/"])
    origin = "https://portal.acme.test"

    preflight = _preflight("/api/v1/contacts", origin)
    own = _key_client(acme_admin).get("/api/v1/contacts", HTTP_ORIGIN=origin)
    foreign = _key_client(globex_admin).get("/api/v1/contacts", HTTP_ORIGIN=origin)
    stranger = _preflight("/api/v1/contacts", "https://portal.globex.test")

    assert preflight["Access-Control-Allow-Origin"] == origin
    assert own.status_code == 200 and own["Access-Control-Allow-Origin"] == origin
    assert "x-ratelimit-remaining" in own["Access-Control-Expose-Headers"]
    assert foreign.status_code == 200 and "Access-Control-Allow-Origin" not in foreign
    assert "Access-Control-Allow-Origin" not in stranger


def test_a_removed_origin_is_refused_at_once(acme: Any, member: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        tenant_cors_origins_set(tenant=acme, actor=admin.user, origins=["https://portal.acme.test"])
    assert "Access-Control-Allow-Origin" in _preflight("/api/v1/contacts", "https://portal.acme.test")

    with django_capture_on_commit_callbacks(execute=True):
        tenant_cors_origins_set(tenant=acme, actor=admin.user, origins=[])

    assert "Access-Control-Allow-Origin" not in _preflight("/api/v1/contacts", "https://portal.acme.test")


def test_administrators_set_the_origins_on_the_security_page(acme: Any, member: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN)
    client = login(admin.user.email)[0]

    saved = client.post("/settings/security/cors/", {"cors_origins": "https://a.acme.test\nhttps://b.acme.test:8443"})
    page = client.get("/settings/security/")
    bad = client.post("/settings/security/cors/", {"cors_origins": "https://a.acme.test/path *.acme.test"})

    assert saved.status_code == 302
    assert Tenant.objects.get(pk=acme.pk).settings["cors_origins"] == ["https://a.acme.test",
                                                                       "https://b.acme.test:8443"]
    assert b"https://b.acme.test:8443" in page.content
    assert bad.status_code == 302
    assert Tenant.objects.get(pk=acme.pk).settings["cors_origins"] == ["https://a.acme.test",
                                                                       "https://b.acme.test:8443"]
    entry = AuditEntry.all_objects.get(tenant=acme, action="settings.changed")
    assert entry.details["cors_origins"]["to"] == ["https://a.acme.test", "https://b.acme.test:8443"]


def test_agents_cannot_set_origins(acme: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    client = login(agent.user.email)[0]

    response = client.post("/settings/security/cors/", {"cors_origins": "https://evil.test"})

    assert response.status_code == 403
    assert "cors_origins" not in Tenant.objects.get(pk=acme.pk).settings
