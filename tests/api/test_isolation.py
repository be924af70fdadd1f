"""A member of globex never reads, changes or learns of acme's rows: acme's ids are 404
on every endpoint and acme's rows never appear in lists or searches."""

from __future__ import annotations

import pytest

from accounts.api_keys import api_key_create
from accounts.models import ApiKey
from channels_app.models import Channel
from contacts.models import Contact
from conversations.models import CannedResponse, Conversation, Label, Message, Team

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/conversations/{conversation}", None),
    ("put", "/api/v1/conversations/{conversation}",
     {"status": "RESOLVED", "assignee_id": None, "team_id": None, "labels": [], "priority": "HIGH"}),
    ("patch", "/api/v1/conversations/{conversation}", {"status": "RESOLVED"}),
    ("get", "/api/v1/conversations/{conversation}/messages", None),
    ("post", "/api/v1/conversations/{conversation}/messages", {"content": "hijack"}),
    ("get", "/api/v1/messages/{note}", None),
    ("put", "/api/v1/messages/{note}", {"content": "rewritten"}),
    ("patch", "/api/v1/messages/{note}", {"metadata": {"x": 1}}),
    ("post", "/api/v1/messages/{note}/retry", None),
    ("post", "/api/v1/channels/{channel}/messages", {"contact": {"external_id": "x"}, "content": "hijack"}),
    ("get", "/api/v1/contacts/{contact}", None),
    ("put", "/api/v1/contacts/{contact}", {"name": "Changed"}),
    ("patch", "/api/v1/contacts/{contact}", {"name": "Changed"}),
    ("get", "/api/v1/channels/{channel}", None),
    ("get", "/api/v1/channels/{channel}/status", None),
    ("put", "/api/v1/channels/{channel}", {"name": "Changed", "config": {}}),
    ("patch", "/api/v1/channels/{channel}", {"name": "Changed"}),
    ("delete", "/api/v1/channels/{channel}", None),
    ("get", "/api/v1/teams/{team}", None),
    ("put", "/api/v1/teams/{team}", {"name": "Changed", "member_ids": [], "channel_ids": []}),
    ("patch", "/api/v1/teams/{team}", {"name": "Changed"}),
    ("delete", "/api/v1/teams/{team}", None),
    ("get", "/api/v1/labels/{label}", None),
    ("put", "/api/v1/labels/{label}", {"name": "changed", "color": "#000000"}),
    ("patch", "/api/v1/labels/{label}", {"color": "#000000"}),
    ("delete", "/api/v1/labels/{label}", None),
    ("get", "/api/v1/canned-responses/{canned}", None),
    ("put", "/api/v1/canned-responses/{canned}", {"short_code": "changed", "content": "Changed"}),
    ("patch", "/api/v1/canned-responses/{canned}", {"content": "Changed"}),
    ("delete", "/api/v1/canned-responses/{canned}", None),
]


def _ids(side) -> dict[str, object]:
    return {"conversation": side.conversation.public_id, "note": side.note.public_id,
            "contact": side.contact.public_id, "channel": side.channel.public_id, "team": side.team.public_id,
            "label": side.label.public_id, "canned": side.canned.public_id}


def _snapshot(side) -> tuple:
    return (
        tuple(Conversation.all_objects.filter(tenant=side.tenant).values_list("status", "priority", "updated_at")),
        tuple(Message.all_objects.filter(tenant=side.tenant).values_list("content", "metadata")),
        tuple(Contact.all_objects.filter(tenant=side.tenant).values_list("name", "updated_at")),
        tuple(Channel.all_objects.filter(tenant=side.tenant).values_list("name", "archived_at")),
        tuple(Team.all_objects.filter(tenant=side.tenant).values_list("name")),
        tuple(Label.all_objects.filter(tenant=side.tenant).values_list("name", "color")),
        tuple(CannedResponse.all_objects.filter(tenant=side.tenant).values_list("short_code", "content")),
    )


@pytest.mark.parametrize("method,path,body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_foreign_tenant_ids_are_404_and_change_nothing(world, api, method, path, body):
    before = _snapshot(world.acme)
    client = api(world.globex.admin)  # the most powerful role of the other tenant

    response = getattr(client, method)(path.format(**_ids(world.acme)), body, format="json")

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert _snapshot(world.acme) == before


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/contacts", "/api/v1/channels", "/api/v1/teams",
                                  "/api/v1/labels", "/api/v1/canned-responses"])
def test_lists_hold_only_own_tenant_rows(world, api, path):
    response = api(world.globex.admin).get(path)

    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert rows
    own = {
        "/api/v1/conversations": Conversation, "/api/v1/contacts": Contact, "/api/v1/channels": Channel,
        "/api/v1/teams": Team, "/api/v1/labels": Label, "/api/v1/canned-responses": CannedResponse,
    }[path].all_objects.filter(tenant=world.globex.tenant).values_list("public_id", flat=True)
    assert {row["id"] for row in rows} == {str(public_id) for public_id in own}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations?search=acme",
        "/api/v1/conversations?search=acme pedido",
        "/api/v1/conversations?search=maria@acme.test",
        "/api/v1/contacts?search=acme",
        "/api/v1/contacts?email=maria@acme.test",
        "/api/v1/conversations?label=acme-vip",
        "/api/v1/conversations?channel={channel}",
        "/api/v1/conversations?contact={contact}",
        "/api/v1/conversations?team={team}",
        "/api/v1/canned-responses?q=acme",
    ],
)
def test_searches_and_filters_never_reach_another_tenant(world, api, path):
    response = api(world.globex.admin).get(path.format(**_ids(world.acme)))

    assert response.status_code == 200
    assert "acme" not in response.content.decode().lower()
    assert response.json()["results"] == []


def test_search_finds_own_rows(world, api):
    client = api(world.globex.admin)

    by_text = client.get("/api/v1/conversations?search=pedido atrasado").json()["results"]
    by_name = client.get("/api/v1/contacts?search=Maria").json()["results"]

    assert [row["id"] for row in by_text] == [str(world.globex.conversation.public_id)]
    assert [row["id"] for row in by_name] == [str(world.globex.contact.public_id)]


@pytest.mark.parametrize(
    "body_field,target",
    [("channel_id", "channel"), ("contact_id", "contact")],
)
def test_foreign_ids_in_a_body_are_unknown(world, api, body_field, target):
    body = {"channel_id": str(world.globex.channel.public_id), "contact_id": str(world.globex.contact.public_id)}
    body[body_field] = str(getattr(world.acme, target).public_id)

    response = api(world.globex.admin).post("/api/v1/conversations", body, format="json")

    assert response.status_code == 422  # a well-formed id that names nothing of this tenant's
    assert body_field in response.json()["error"]["details"]
    assert Conversation.all_objects.filter(tenant=world.globex.tenant).count() == 2


def test_foreign_user_cannot_be_assigned(world, api):
    response = api(world.globex.admin).patch(
        f"/api/v1/conversations/{world.globex.conversation.public_id}", {"assignee_id": world.acme.agent.user.public_id},
        format="json",
    )

    assert response.status_code == 422
    assert "assignee_id" in response.json()["error"]["details"]


def test_api_keys_of_another_tenant_are_404_and_never_listed(world, api):
    acme_key = api_key_create(tenant=world.acme.tenant, actor=world.acme.admin.user, name="acme", scope="read")
    globex_key = api_key_create(tenant=world.globex.tenant, actor=world.globex.admin.user, name="globex",
                                scope="read")
    client = api(world.globex.admin)

    listed = client.get("/api/v1/api-keys").json()["results"]
    detail = client.get(f"/api/v1/api-keys/{acme_key.api_key.public_id}")
    revoke = client.delete(f"/api/v1/api-keys/{acme_key.api_key.public_id}")

    assert [row["id"] for row in listed] == [str(globex_key.api_key.public_id)]
    assert detail.status_code == 404 and revoke.status_code == 404
    assert ApiKey.all_objects.get(pk=acme_key.api_key.pk).revoked_at is None
