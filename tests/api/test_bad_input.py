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


@pytest.mark.parametrize("body", ["{bad", '{"content": "oi"', "\x00\x01", '{"content": NaN}'])
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
        ("conversation", {"team_id": "not-a-uuid"}, "team_id"),
        ("conversation", {"team_id": ["0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"]}, "team_id"),
        ("conversation", {"status": "DONE"}, "status"),
        ("conversation", {"labels": "vip"}, "labels"),
        ("conversation", {"labels": [{"a": 1}]}, "labels"),
        ("conversation", {"priority": 5}, "priority"),
        ("conversation", {"snoozed_until": "tomorrow"}, "snoozed_until"),
        ("messages", {"content": {"text": "oi"}}, "content"),
        ("messages", {"content": "x" * 10_001}, "content"),
        ("messages", {"content": "oi", "private": "maybe"}, "private"),
        ("messages", {"content": "oi", "metadata": [1]}, "metadata"),
        ("messages", {"content": "oi", "reply_to_id": 999999}, "reply_to_id"),
        ("messages", {"content": "oi", "reply_to_id": "abc"}, "reply_to_id"),
        ("messages", {"content": "x\u0000y"}, "content"),
        ("messages", {"content": "oi", "reply_to_id": 10**23}, "reply_to_id"),
        ("contacts", {"name": ["Ana"]}, "name"),
        ("contacts", {"name": "Ana", "attributes": "x"}, "attributes"),
        ("new_conversation", {"channel_id": "abc", "contact_id": "abc"}, "channel_id"),
        ("new_conversation", {"channel_id": 1, "contact_id": 1}, "contact_id"),
        ("channels", {"kind": "api"}, "name"),
        ("channels", {"kind": "api", "name": "x", "credentials": {"token": 5}}, "credentials"),
        ("channels", {"kind": "api", "name": "x", "config": "x"}, "config"),
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
    "path_kind,body,field",
    [
        ("conversation", {"assignee_id": "0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"}, "assignee_id"),  # nobody's
        ("conversation", {"status": "SNOOZED"}, "snoozed_until"),
        ("conversation", {"status": "SNOOZED", "snoozed_until": "2001-01-01T00:00:00Z"}, "snoozed_until"),
        ("messages", {"content": ""}, "content"),
        ("messages", {"content": "oi", "reply_to_id": "0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"}, "reply_to_id"),
        ("messages", {}, "content"),
        ("contacts", {"name": "Ana", "phone": "not a phone"}, "phone"),
        ("contacts", {"name": "Ana", "email": "not-an-email"}, "email"),
        ("channels", {"kind": "fax", "name": "x"}, "kind"),  # a kind this installation does not serve
    ],
)
def test_well_formed_input_refused_for_what_it_means_is_422(world, api, path_kind, body, field):
    """The schema's shape, but an id that names nothing, a phone that is no phone number, a rule
    (a reply needs text, snoozing needs a time to come): 422, naming the field; nothing changes."""
    side = world.acme
    method, path = {
        "conversation": ("patch", f"/api/v1/conversations/{side.conversation.public_id}"),
        "messages": ("post", f"/api/v1/conversations/{side.conversation.public_id}/messages"),
        "contacts": ("post", "/api/v1/contacts"),
        "channels": ("post", "/api/v1/channels"),
    }[path_kind]
    before = Conversation.all_objects.filter(pk=side.conversation.pk).values().get()

    response = getattr(api(side.admin), method)(path, body, format="json")

    error = _assert_error(response, 422, None)
    assert field in error["details"], error
    assert Conversation.all_objects.filter(pk=side.conversation.pk).values().get() == before
    assert Message.all_objects.filter(conversation=side.conversation).count() == 2


def test_an_empty_body_is_no_body(world, api):
    response = api(world.acme.manager).generic(
        "POST", f"/api/v1/conversations/{world.acme.conversation.public_id}/messages", "",
        content_type="application/json")

    assert "content" in _assert_error(response, 422, "validation_error")["details"]


def test_a_cursor_no_page_gave_is_422(world, api):
    error = _assert_error(api(world.acme.admin).get("/api/v1/conversations?cursor=not-a-cursor"), 422,
                          "validation_error")

    assert "cursor" in error["details"]


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
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=1.5", "page_size"),
        ("updated_since=2026-05-13", "updated_since"),
        ("updated_since=2026-05-13T10:00", "updated_since"),
        ("updated_since=2026-05-13T10:00:00", "updated_since"),  # no offset
        ("updated_since=2026-05-13 10:00:00Z", "updated_since"),
        ("updated_since=0001-01-01T00:00:00%2B01:00", "updated_since"),  # before year 1 in UTC
        ("channel=0190e0e58a1c7b2d9c3e4f5a6b7c8d9e", "channel"),  # a UUID, not written as one
        ("status=open,,closed", "status"),
    ],
)
def test_bad_filters_are_400(world, api, query, field):
    response = api(world.acme.admin).get(f"/api/v1/conversations?{query}")

    error = _assert_error(response, 400, "validation_error")
    assert field in error["details"]


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("messages", {"content": "oi", "metadata": {"a": "x\u0000y"}}, "metadata"),
        ("contacts", {"name": "Ana", "attributes": {"b\u0000": ["x\u0000y"]}}, "attributes"),
        ("channels", {"kind": "api", "name": "x", "config": {"a": ["x\u0000y"]}}, "config"),
    ],
)
def test_nul_characters_in_json_fields_are_dropped(world, api, path, body, field):
    """PostgreSQL cannot store them; the schema can say "no NUL" of a string, not of anything
    inside an object of any shape."""
    side = world.acme
    url = {"messages": f"/api/v1/conversations/{side.conversation.public_id}/messages",
           "contacts": "/api/v1/contacts", "channels": "/api/v1/channels"}[path]

    response = api(side.admin).post(url, body, format="json")

    assert response.status_code == 201, response.content
    assert "\x00" not in json.dumps(response.json()[field], ensure_ascii=False)
    assert response.json()[field] in ({"a": "xy"}, {"b": ["xy"]}, {"a": ["xy"]})


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("contacts", {"name": 7}, "name"),
        ("contacts", {"name": True}, "name"),
        ("contacts", {"name": "Ana", "attributes": None}, "attributes"),
        ("contacts", {"name": "Ana", "consent_at": "2026-05-13T10:00"}, "consent_at"),
        ("contacts", {"name": "Ana", "consent_at": "2026-05-13"}, "consent_at"),
        ("channels", {"kind": "api", "name": 12}, "name"),
        ("channels", {"kind": "api", "name": "x", "config": None}, "config"),
        ("messages", {"content": 5}, "content"),
        ("messages", {"content": "oi", "private": "true"}, "private"),
        ("messages", {"content": "oi", "private": 1}, "private"),
        ("messages", {"content": "oi", "metadata": None}, "metadata"),
        ("messages", {"content": "oi", "content_attributes": None}, "content_attributes"),
        ("messages", {"content": "oi", "reply_to_id": "0190e0e58a1c7b2d9c3e4f5a6b7c8d9e"}, "reply_to_id"),
        ("conversation", {"labels": [0]}, "labels"),
        ("conversation", {"assignee_id": "{0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e}"}, "assignee_id"),
    ],
)
def test_what_the_schema_refuses_the_server_refuses(world, api, path, body, field):
    """A number where the schema says string, "true" where it says boolean, null where it says
    object, a date-time without seconds or offset: 400, as the schema promises."""
    side = world.acme
    method, url = {"conversation": ("patch", f"/api/v1/conversations/{side.conversation.public_id}"),
                   "messages": ("post", f"/api/v1/conversations/{side.conversation.public_id}/messages"),
                   "contacts": ("post", "/api/v1/contacts"), "channels": ("post", "/api/v1/channels")}[path]

    response = getattr(api(side.admin), method)(url, body, format="json")

    error = _assert_error(response, 400, "validation_error")
    assert field in error["details"], error


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
    error = _assert_error(inbound, 409, "message_not_editable")
    assert "content" in error["details"]
    assert metadata.status_code == 200 and metadata.json()["metadata"] == {"crm_id": "42"}
    assert Message.all_objects.get(pk=side.message.pk).content == "acme pedido atrasado"
