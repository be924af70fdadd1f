"""Bad input gets a clear 4xx in the API's one error shape; never a 500, never a change."""

from __future__ import annotations

import json

import pytest

from conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db


def _assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize("body", ["{bad", '{"content": "oi"', "", "\x00\x01", '{"content": NaN}'])
def test_malformed_json_is_400(world, api, body):
    client = api(world.acme.manager)

    response = client.generic("POST", f"/api/v1/conversations/{world.acme.conversation.public_id}/messages", body,
                              content_type="application/json")

    _assert_error(response, 400)
    assert Message.all_objects.filter(conversation=world.acme.conversation).count() == 2


def test_json_that_is_not_an_object_is_400(world, api):
    response = api(world.acme.manager).post("/api/v1/contacts", [1, 2], format="json")

    _assert_error(response, 400, "validation_error")


@pytest.mark.parametrize(
    "path_kind,body,field",
    [
        ("conversation", {"assignee_id": "abc"}, "assignee_id"),
        ("conversation", {"assignee_id": 10**12}, "assignee_id"),
        ("conversation", {"assignee_id": 7}, "assignee_id"),  # an integer is no id any more
        ("conversation", {"assignee_id": "0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9"}, "assignee_id"),  # one digit short
        ("conversation", {"assignee_id": "0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"}, "assignee_id"),  # nobody's
        ("conversation", {"team_id": "not-a-uuid"}, "team_id"),
        ("conversation", {"team_id": ["0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"]}, "team_id"),
        ("conversation", {"status": "DONE"}, "status"),
        ("conversation", {"labels": "vip"}, "labels"),
        ("conversation", {"labels": [{"a": 1}]}, "labels"),
        ("conversation", {"priority": 5}, "priority"),
        ("conversation", {"snoozed_until": "tomorrow"}, "snoozed_until"),
        ("conversation", {"status": "SNOOZED"}, "snoozed_until"),
        ("conversation", {"status": "SNOOZED", "snoozed_until": "2001-01-01T00:00:00Z"}, "snoozed_until"),
        ("messages", {"content": ""}, "content"),
        ("messages", {"content": {"text": "oi"}}, "content"),
        ("messages", {"content": "x" * 10_001}, "content"),
        ("messages", {"content": "oi", "private": "maybe"}, "private"),
        ("messages", {"content": "oi", "metadata": [1]}, "metadata"),
        ("messages", {"content": "oi", "reply_to_id": 999999}, "reply_to_id"),
        ("messages", {"content": "oi", "reply_to_id": "abc"}, "reply_to_id"),
        ("messages", {"content": "oi", "reply_to_id": "0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"}, "reply_to_id"),
        ("messages", {}, "content"),
        ("messages", {"content": "x\u0000y"}, "content"),
        ("messages", {"content": "oi", "metadata": {"a": "\u0000"}}, "metadata"),
        ("messages", {"content": "oi", "reply_to_id": 10**23}, "reply_to_id"),
        ("contacts", {"name": "Ana", "phone": "not a phone"}, "phone"),
        ("contacts", {"name": "Ana", "email": "not-an-email"}, "email"),
        ("contacts", {"name": ["Ana"]}, "name"),
        ("contacts", {"name": "Ana", "attributes": "x"}, "attributes"),
        ("contacts", {"name": "Ana", "attributes": {"\u0000": 1}}, "attributes"),
        ("new_conversation", {"channel_id": "abc", "contact_id": "abc"}, "channel_id"),
        ("new_conversation", {"channel_id": 1, "contact_id": 1}, "contact_id"),
        ("channels", {"kind": "fax", "name": "x"}, "kind"),
        ("channels", {"kind": "api"}, "name"),
        ("channels", {"kind": "api", "name": "x", "credentials": {"token": 5}}, "credentials"),
        ("channels", {"kind": "api", "name": "x", "config": "x"}, "config"),
        ("channels", {"kind": "api", "name": "x", "config": {"a": ["\u0000"]}}, "config"),
    ],
)
def test_wrong_types_and_values_say_which_field(world, api, path_kind, body, field):
    side = world.acme
    client = api(side.admin)
    method, path = {
        "conversation": ("patch", f"/api/v1/conversations/{side.conversation.public_id}"),
        "messages": ("post", f"/api/v1/conversations/{side.conversation.public_id}/messages"),
        "new_conversation": ("post", "/api/v1/conversations"),
        "contacts": ("post", "/api/v1/contacts"),
        "channels": ("post", "/api/v1/channels"),
    }[path_kind]
    before = Conversation.all_objects.filter(pk=side.conversation.pk).values().get()

    response = getattr(client, method)(path, body, format="json")

    error = _assert_error(response, 400, "validation_error")
    assert field in error["details"], error
    assert field in error["message"] or error["message"]
    assert Conversation.all_objects.filter(pk=side.conversation.pk).values().get() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations/999999",
        "/api/v1/conversations/abc",
        "/api/v1/conversations/99999999999999999999999",
        "/api/v1/conversations/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9",  # a malformed UUID
        "/api/v1/conversations/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e",  # nobody's
        "/api/v1/conversations/999999/messages",
        "/api/v1/conversations/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e/messages",
        "/api/v1/messages/999999",
        "/api/v1/messages/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e",
        "/api/v1/contacts/999999",
        "/api/v1/contacts/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e",
        "/api/v1/channels/999999",
        "/api/v1/channels/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e",
        "/api/v1/channels/999999/status",
        "/api/v1/nothing-here",
    ],
)
def test_unknown_ids_and_paths_are_404(world, api, path):
    _assert_error(api(world.acme.admin).get(path), 404, "not_found")


@pytest.mark.parametrize(
    "query,field",
    [
        ("status=bogus", "status"),
        ("assignee=someone", "assignee"),
        ("updated_since=yesterday", "updated_since"),
        ("channel=abc", "channel"),
        ("channel=12", "channel"),
        ("contact=abc", "contact"),
        ("team=0190e0e5", "team"),
        ("assignee=12", "assignee"),
        ("search=%00", "search"),
        ("priority=9", "priority"),
        ("cursor=not-a-cursor", "cursor"),
        ("page_size=abc", None),
    ],
)
def test_bad_filters_are_400(world, api, query, field):
    response = api(world.acme.admin).get(f"/api/v1/conversations?{query}")

    if field is None:  # an unusable page size falls back to the default
        assert response.status_code == 200
        return
    error = _assert_error(response, 400, "validation_error")
    assert field in error["details"]


def test_filters_work(world, api):
    side = world.acme
    client = api(side.admin)

    assert len(client.get("/api/v1/conversations?status=open,pending").json()["results"]) == 2
    assert client.get("/api/v1/conversations?status=resolved").json()["results"] == []
    assert len(client.get("/api/v1/conversations?assignee=none").json()["results"]) == 2
    assert client.get("/api/v1/conversations?assignee=me").json()["results"] == []
    assert [r["id"] for r in client.get(f"/api/v1/conversations?channel={side.channel.public_id}").json()["results"]] == [
        str(side.conversation.public_id)]
    assert {r["id"] for r in client.get(f"/api/v1/conversations?contact={side.contact.public_id}").json()[
        "results"]} == {str(side.conversation.public_id), str(side.hidden_conversation.public_id)}
    assert client.get(f"/api/v1/conversations?team={side.contact.public_id}").json()["results"] == []
    assert client.get(f"/api/v1/conversations?assignee={side.agent.user.public_id}").json()["results"] == []
    assert [r["id"] for r in client.get("/api/v1/conversations?label=ACME-VIP").json()["results"]] == [
        str(side.conversation.public_id)]
    assert len(client.get("/api/v1/conversations?updated_since=2000-01-01T00:00:00Z").json()["results"]) == 2
    assert client.get("/api/v1/conversations?updated_since=2999-01-01T00:00:00Z").json()["results"] == []


def test_oversized_bodies_are_413(world, api, settings):
    settings.API_MAX_BODY_BYTES = 2048
    client = api(world.acme.admin)
    path = f"/api/v1/conversations/{world.acme.conversation.public_id}/messages"
    body = json.dumps({"content": "x" * 5000})

    declared = client.generic("POST", path, body, content_type="application/json")

    _assert_error(declared, 413, "payload_too_large")
    assert Message.all_objects.filter(conversation=world.acme.conversation).count() == 2


def test_wrong_media_type_and_method_are_clear(world, api):
    client = api(world.acme.admin)

    form = client.post("/api/v1/contacts", "name=Ana", content_type="application/x-www-form-urlencoded")
    delete = client.delete(f"/api/v1/conversations/{world.acme.conversation.public_id}")

    _assert_error(form, 415, "unsupported_media_type")
    _assert_error(delete, 405, "method_not_allowed")


def test_only_private_notes_can_be_rewritten(world, api):
    side = world.acme
    client = api(side.admin)

    note = client.put(f"/api/v1/messages/{side.note.public_id}", {"content": "nota revisada"}, format="json")
    inbound = client.put(f"/api/v1/messages/{side.message.public_id}", {"content": "forged"}, format="json")
    metadata = client.patch(f"/api/v1/messages/{side.message.public_id}", {"metadata": {"crm_id": "42"}}, format="json")

    assert note.status_code == 200 and note.json()["content"] == "nota revisada"
    error = _assert_error(inbound, 400, "message_not_editable")
    assert "content" in error["details"]
    assert metadata.status_code == 200 and metadata.json()["metadata"] == {"crm_id": "42"}
    assert Message.all_objects.get(pk=side.message.pk).content == "acme pedido atrasado"
