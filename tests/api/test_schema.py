"""The OpenAPI schema generates without warnings, and what the API answers matches it."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from django.core.management import call_command
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_schema_validator import OAS31Validator

from config.api.generator import Generator

pytestmark = pytest.mark.django_db


@cache
def _schema() -> dict:
    return json.loads(OpenApiJsonRenderer().render(Generator().get_schema(request=None, public=True)))


def _assert_matches_schema(response, method: str, template: str) -> None:
    schema = _schema()
    operation = schema["paths"][template][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {template} answered {response.status_code}, which is not documented"
    if response.status_code == 204:
        return
    body_schema = {**documented["content"]["application/json"]["schema"], "components": schema["components"]}
    errors = sorted(OAS31Validator(body_schema).iter_errors(response.json()), key=str)
    assert not errors, f"{method} {template} {response.status_code}: {errors[0]}"


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.1")


def test_schema_and_swagger_ui_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/?format=json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


def test_responses_match_the_schema(world, api):
    side = world.acme
    client = api(side.admin)
    conversation = f"/api/v1/conversations/{side.conversation.public_id}"
    calls = [
        ("get", "/api/v1/conversations", "/api/v1/conversations", None),
        ("get", conversation, "/api/v1/conversations/{id}", None),
        ("post", "/api/v1/conversations", "/api/v1/conversations",
         {"channel_id": str(side.channel.public_id), "contact_id": str(side.contact.public_id), "labels": ["novo"]}),
        ("patch", conversation, "/api/v1/conversations/{id}",
         {"assignee_id": str(side.agent.user.public_id), "priority": "HIGH", "labels": ["vip"]}),
        ("put", conversation, "/api/v1/conversations/{id}",
         {"status": "RESOLVED", "assignee_id": None, "team_id": None, "labels": [], "priority": "LOW"}),
        ("get", f"{conversation}/messages", "/api/v1/conversations/{conversation_id}/messages", None),
        ("post", f"{conversation}/messages", "/api/v1/conversations/{conversation_id}/messages",
         {"content": "Seu pedido saiu para entrega.", "external_id": "crm-1"}),
        ("get", f"/api/v1/messages/{side.note.public_id}", "/api/v1/messages/{id}", None),
        ("put", f"/api/v1/messages/{side.note.public_id}", "/api/v1/messages/{id}", {"content": "nota nova"}),
        ("get", "/api/v1/contacts", "/api/v1/contacts", None),
        ("post", "/api/v1/contacts", "/api/v1/contacts", {"name": "João", "phone": "(11) 98765-4321"}),
        ("get", f"/api/v1/contacts/{side.contact.public_id}", "/api/v1/contacts/{id}", None),
        ("patch", f"/api/v1/contacts/{side.contact.public_id}", "/api/v1/contacts/{id}", {"email": "novo@acme.test"}),
        ("get", "/api/v1/channels", "/api/v1/channels", None),
        ("post", "/api/v1/channels", "/api/v1/channels", {"kind": "api", "name": "CRM", "credentials": {"k": "v"}}),
        ("get", f"/api/v1/channels/{side.channel.public_id}", "/api/v1/channels/{id}", None),
        ("get", f"/api/v1/channels/{side.channel.public_id}/status", "/api/v1/channels/{id}/status", None),
        ("patch", f"/api/v1/channels/{side.channel.public_id}", "/api/v1/channels/{id}", {"name": "WhatsApp Vendas"}),
        # errors are documented too
        ("get", "/api/v1/conversations/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e", "/api/v1/conversations/{id}", None),
        ("patch", conversation, "/api/v1/conversations/{id}", {"status": "NOPE"}),
        ("delete", f"/api/v1/channels/{side.other_channel.public_id}", "/api/v1/channels/{id}", None),
    ]
    for method, path, template, body in calls:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code < 500, response.content
        _assert_matches_schema(response, method, template)


def test_auth_responses_match_the_schema(world, api):
    from tests.factories import PASSWORD

    tokens = api().post("/api/v1/auth/token", {"email": world.acme.agent.user.email, "password": PASSWORD},
                        format="json")
    refreshed = api().post("/api/v1/auth/refresh", {"refresh": tokens.json()["refresh"]}, format="json")
    revoked = api().post("/api/v1/auth/revoke", {"refresh": refreshed.json()["refresh"]}, format="json")

    _assert_matches_schema(tokens, "post", "/api/v1/auth/token")
    _assert_matches_schema(refreshed, "post", "/api/v1/auth/refresh")
    _assert_matches_schema(revoked, "post", "/api/v1/auth/revoke")


def test_api_channel_and_window_responses_match_the_schema(world, api):
    from datetime import timedelta

    from django.utils import timezone

    from tests import factories

    side = world.acme
    client = api(side.admin)
    api_channel = factories.ChannelFactory(tenant=side.tenant, kind="api")
    whatsapp = factories.ChannelFactory(tenant=side.tenant, kind="whatsapp_cloud")
    closed = factories.ConversationFactory(tenant=side.tenant, channel=whatsapp,
                                           last_inbound_at=timezone.now() - timedelta(days=3))
    body = {"contact": {"external_id": "c-1", "name": "Bia"}, "content": "oi", "external_id": "m-1"}

    calls = [
        (client.post(f"/api/v1/channels/{api_channel.public_id}/messages", body, format="json"), 201),
        (client.post(f"/api/v1/channels/{api_channel.public_id}/messages", body, format="json"), 200),
        (client.post(f"/api/v1/channels/{whatsapp.public_id}/messages", body, format="json"), 409),
    ]
    for response, expected in calls:
        assert response.status_code == expected, response.content
        _assert_matches_schema(response, "post", "/api/v1/channels/{channel_id}/messages")
    refused = client.post(f"/api/v1/conversations/{closed.public_id}/messages", {"content": "oi"}, format="json")
    assert refused.status_code == 422
    _assert_matches_schema(refused, "post", "/api/v1/conversations/{conversation_id}/messages")


def test_docs_and_schema_open_for_the_platform_superuser_logged_in_at_the_admin(client):
    from tests import factories
    from tests.factories import PASSWORD

    staff = factories.UserFactory(is_staff=True, is_superuser=True)  # a member of no tenant
    logged_in = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert logged_in.status_code == 302, logged_in.content

    assert client.get("/admin/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"openapi" in schema.content


def test_every_api_key_error_code_is_in_the_schema():
    """Every `api_key_*` code the apps raise (found in their source, so a new one counts too) is
    named in the schema: the API-key security scheme lists the refusals (401), the contacts
    export its 403."""
    from pathlib import Path

    from django.conf import settings

    raised = set()
    for app in ("accounts", "channels_app", "contacts", "conversations", "integrations", "tenants", "config"):
        for source in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            raised |= set(re.findall(r'code="(api_key_[a-z_]+)"', source.read_text()))
    schema = _schema()
    schemes = schema["components"]["securitySchemes"]

    assert {"api_key_invalid", "api_key_revoked", "api_key_expired", "api_key_creator_inactive",
            "api_key_channels_export"} <= raised
    missing = {code for code in raised if f"`{code}`" not in json.dumps(schema)}
    assert not missing, f"raised but not in the schema: {sorted(missing)}"
    for scheme in ("apiKeyBearer", "apiKeyHeader"):
        for code in ("api_key_invalid", "api_key_revoked", "api_key_expired", "api_key_creator_inactive"):
            assert f"`{code}`" in schemes[scheme]["description"], (scheme, code)
    export = schema["paths"]["/api/v1/contacts/exports"]["post"]["responses"]["403"]
    assert "`api_key_channels_export`" in export["description"]
