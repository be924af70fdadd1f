"""JSON that nests too deep or is too large is a clear 400 in the API's error shape, never a 500
(Python's json module and any recursive walk fail past about a thousand levels)."""

from __future__ import annotations

import json

import pytest

from channels_app.models import Channel
from contacts.models import Contact
from conversations.models import Message

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_attributes_nested_900_levels_are_a_400(world, api):
    response = api(world.acme.admin).post("/api/v1/contacts", {"name": "Ana", "attributes": _nested(900)},
                                          format="json")

    error = _error(response, 400, "json_too_deep")
    assert "deeper than" in error["message"]
    assert not Contact.all_objects.filter(name="Ana").exists()


def test_attributes_nested_deeper_than_a_json_field_may_are_a_400_naming_the_field(world, api):
    response = api(world.acme.admin).post("/api/v1/contacts", {"name": "Ana", "attributes": _nested(20)},
                                          format="json")

    error = _error(response, 400, "validation_error")
    assert "attributes" in error["details"]
    assert "deeper than 16 levels" in error["message"]
    assert not Contact.all_objects.filter(name="Ana").exists()


@pytest.mark.parametrize("depth", [900, 100_000])
def test_a_body_nested_deeper_than_python_can_parse_is_a_400(world, api, depth):
    body = '{"name": "Ana", "attributes": ' + "[" * depth + "]" * depth + "}"

    response = api(world.acme.admin).generic("POST", "/api/v1/contacts", body, content_type="application/json")

    error = _error(response, 400, "json_too_deep")
    assert error["message"]
    assert not Contact.all_objects.filter(name="Ana").exists()


def test_brackets_inside_strings_are_text_not_nesting(world, api):
    response = api(world.acme.admin).post("/api/v1/contacts", {"name": "[" * 5000, "attributes": {"x": "{" * 5000}},
                                          format="json")

    assert response.status_code == 400  # the name is too long, not too deep
    assert response.json()["error"]["code"] == "validation_error"
    assert "name" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "target,field,extra",
    [
        ("contacts", "attributes", {"name": "Ana"}),
        ("channels", "config", {"kind": "api", "name": "CRM"}),
        ("channels", "credentials", {"kind": "api", "name": "CRM"}),
        ("messages", "content_attributes", {"content": "oi"}),
        ("messages", "metadata", {"content": "oi"}),
        ("api_channel", "content_attributes", {"contact": {"external_id": "crm-1"}, "content": "oi",
                                               "external_id": "m-1"}),
    ],
)
@pytest.mark.parametrize("problem", ["deep", "large"])
def test_every_json_field_bounds_depth_and_size(world, api, target, field, extra, problem):
    side = world.acme
    api_channel = Channel.all_objects.create(tenant=side.tenant, kind="api", name="Loja")
    path = {
        "contacts": "/api/v1/contacts",
        "channels": "/api/v1/channels",
        "messages": f"/api/v1/conversations/{side.conversation.public_id}/messages",
        "api_channel": f"/api/v1/channels/{api_channel.public_id}/messages",
    }[target]
    value = _nested(20) if problem == "deep" else {f"k{index}": "x" * 1000 for index in range(90)}
    messages_before = Message.all_objects.count()

    response = api(side.admin).post(path, {**extra, field: value}, format="json")

    error = _error(response, 400, "validation_error")
    assert field in error["details"], error
    assert Message.all_objects.count() == messages_before
    assert not Channel.all_objects.filter(name="CRM").exists()


def test_json_fields_within_the_bounds_are_kept(world, api):
    attributes = {"plan": {"name": "pro", "tags": [["a", ["b"]]]}, "notes": "x" * 2000}

    response = api(world.acme.admin).post("/api/v1/contacts", {"name": "Ana", "attributes": attributes},
                                          format="json")

    assert response.status_code == 201, response.content
    assert Contact.all_objects.get(name="Ana").attributes == attributes
    assert json.loads(response.content)["attributes"] == attributes


@pytest.mark.parametrize("attributes", ['{"k": "\\udc00"}', '{"\\ud800": 1}', '{"k": ["a\\ud83d"]}'])
def test_a_lone_surrogate_in_a_json_field_is_a_400_not_a_500(world, api, attributes):
    body = '{"name": "Ana", "attributes": ' + attributes + "}"

    response = api(world.acme.admin).generic("POST", "/api/v1/contacts", body, content_type="application/json")

    error = _error(response, 400, "validation_error")
    assert "attributes" in error["details"]
    assert not Contact.all_objects.filter(name="Ana").exists()


def test_a_surrogate_pair_is_one_character_and_kept(world, api):
    body = '{"name": "Ana", "attributes": {"mood": "\\ud83d\\ude00"}}'

    response = api(world.acme.admin).generic("POST", "/api/v1/contacts", body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert Contact.all_objects.get(name="Ana").attributes == {"mood": "\U0001F600"}
