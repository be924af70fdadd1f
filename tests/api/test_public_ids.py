"""No sequential integer leaves the server through the API: every `id` and `*_id` in bodies,
URLs and token claims is a public id (a UUIDv7), and the schema says so."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache

import jwt
import pytest
from django.conf import settings
from drf_spectacular.renderers import OpenApiJsonRenderer

from config.api.generator import Generator
from conversations.models import Attachment, Message
from tests import factories
from tests.factories import PASSWORD
from tests.ids import FOREIGN_IDS, assert_no_integer_ids, is_id_key

pytestmark = pytest.mark.django_db


def _claims(token: str) -> dict:
    return jwt.decode(token, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])


def test_no_integer_id_leaves_in_any_api_body(world, api):
    side = world.acme
    client = api(side.admin)
    attachment = Attachment.all_objects.create(tenant=side.tenant, message=side.note, file_name="nota.png",
                                               external_url="https://files.example.test/nota.png",
                                               content_type="image/png")
    conversation = f"/api/v1/conversations/{side.conversation.public_id}"
    created = client.post("/api/v1/conversations", {
        "channel_id": str(side.channel.public_id), "contact_id": str(side.contact.public_id),
        "assignee_id": str(side.agent.user.public_id), "labels": ["novo"]}, format="json")
    assigned = client.patch(conversation, {"assignee_id": str(side.agent.user.public_id),
                                           "team_id": str(factories.TeamFactory(tenant=side.tenant).public_id)},
                            format="json")
    reply = client.post(f"{conversation}/messages", {"content": "Já verifico", "reply_to_id": str(
        side.message.public_id)}, format="json")
    api_channel = factories.ChannelFactory(tenant=side.tenant, kind="api")
    inbound = client.post(f"/api/v1/channels/{api_channel.public_id}/messages",
                          {"contact": {"external_id": "crm-9", "name": "Bia"}, "content": "oi"}, format="json")
    responses = [
        created, assigned, reply, inbound,
        client.get("/api/v1/conversations"), client.get(conversation), client.get(f"{conversation}/messages"),
        client.get(f"/api/v1/messages/{side.note.public_id}"), client.get("/api/v1/contacts"),
        client.get(f"/api/v1/contacts/{side.contact.public_id}"), client.get("/api/v1/channels"),
        client.get(f"/api/v1/channels/{side.channel.public_id}"),
        client.get(f"/api/v1/channels/{side.channel.public_id}/status"),
    ]

    for response in responses:
        assert response.status_code in (200, 201), response.content
        assert assert_no_integer_ids(response.json()) > 0, response.json()
    body = reply.json()
    assert body["reply_to_id"] == str(side.message.public_id)
    assert body["conversation_id"] == str(side.conversation.public_id)
    assert Message.all_objects.get(public_id=body["id"]).reply_to_id == side.message.pk
    assert assigned.json()["assignee"]["id"] == str(side.agent.user.public_id)
    assert created.json()["channel"]["id"] == str(side.channel.public_id)
    note = client.get(f"/api/v1/messages/{side.note.public_id}").json()
    assert [item["id"] for item in note["attachments"]] == [str(attachment.public_id)]


def test_public_ids_are_time_ordered_uuids(world, api):
    body = api(world.acme.admin).post(f"/api/v1/conversations/{world.acme.conversation.public_id}/messages",
                                      {"content": "oi"}, format="json").json()

    public_id = uuid.UUID(body["id"])
    created_ms = (public_id.int >> 80)
    assert public_id.version == 7
    # Its time is the row's, or ahead of it: a process that made over a thousand ids a second (a
    # test before this one importing 10,000 contacts) runs ahead of its clock for a while (config.ids).
    assert -5 < created_ms / 1000 - dt.datetime.fromisoformat(body["created_at"]).timestamp() < 60
    assert public_id > world.acme.note.public_id  # made later, sorts later


def test_token_claims_carry_public_ids(world, api):
    side = world.acme
    tokens = api().post("/api/v1/auth/token", {"email": side.agent.user.email, "password": PASSWORD},
                        format="json").json()
    refreshed = api().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").json()

    for token in (tokens["access"], tokens["refresh"], refreshed["access"], refreshed["refresh"]):
        claims = _claims(token)
        assert assert_no_integer_ids(claims) == 2
        assert (claims["user_id"], claims["tenant_id"]) == (str(side.agent.user.public_id), str(side.tenant.public_id))
    with_token = api()
    with_token.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
    assert with_token.get("/api/v1/conversations").status_code == 200


def test_a_token_of_integer_claims_is_refused_cleanly(world, api):
    """A token issued before public ids (claims were primary keys) is a 401: log in again."""
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

    side = world.acme
    access, refresh = AccessToken(), RefreshToken()
    for token in (access, refresh):
        token["user_id"], token["tenant_id"], token["role"] = side.agent.user.pk, side.tenant.pk, "AGENT"
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    responses = [client.get("/api/v1/conversations"),
                 api().post("/api/v1/auth/refresh", {"refresh": str(refresh)}, format="json"),
                 api().post("/api/v1/auth/revoke", {"refresh": str(refresh)}, format="json")]

    for response in responses:
        assert response.status_code == 401, response.content
        assert response.json()["error"]["code"] == "token_not_valid"


@cache
def _schema() -> dict:
    return OpenApiJsonRenderer().render(Generator().get_schema(request=None, public=True))


def _properties(node, path=""):
    """Every (path, name, schema) of an object property in the schema."""
    if isinstance(node, dict):
        for name, schema in (node.get("properties") or {}).items():
            yield f"{path}.{name}", name, schema
        for key, value in node.items():
            yield from _properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _properties(value, path)


def test_the_schema_says_every_id_is_a_uuid():
    import json

    schema = json.loads(_schema())
    ids = [(path, schema) for path, name, schema in _properties(schema["components"])
           if is_id_key(name) and name not in FOREIGN_IDS]
    parameters = [(f"{route} {parameter['name']}", parameter["schema"])
                  for route, operations in schema["paths"].items() for operation in operations.values()
                  for parameter in operation.get("parameters", [])
                  if is_id_key(parameter["name"]) or parameter["name"] in ("channel", "contact", "team")]

    assert len(ids) > 20 and len(parameters) > 15
    wrong = [(where, found) for where, found in ids + parameters
             if found.get("format") != "uuid" or "integer" in str(found.get("type"))]
    assert wrong == []
