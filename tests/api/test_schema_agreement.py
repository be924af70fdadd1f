"""Each disagreement between the API and its OpenAPI schema that schemathesis found, pinned down
(tests/api/test_schemathesis.py keeps looking for new ones)."""

from __future__ import annotations

import json
from functools import cache

import pytest
from django.test import Client
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator

from config.api.generator import Generator
from tests import factories

pytestmark = pytest.mark.django_db


@cache
def _schema() -> dict:
    return json.loads(OpenApiJsonRenderer().render(Generator().get_schema(request=None, public=True)))


def _valid(value, name: str) -> list[str]:
    """What is wrong with `value` as components/schemas/<name>, formats checked (as schemathesis does)."""
    schema = _schema()
    validator = OAS31Validator({**schema["components"]["schemas"][name], "components": schema["components"]},
                               format_checker=FormatChecker())
    return [error.message for error in validator.iter_errors(value)]


def test_a_contact_without_an_email_is_as_the_schema_says(world, api):
    contact = factories.ContactFactory(tenant=world.acme.tenant, email="")
    conversation = factories.ConversationFactory(tenant=world.acme.tenant, channel=world.acme.channel, contact=contact)
    client = api(world.acme.admin)

    contact_body = client.get(f"/api/v1/contacts/{contact.public_id}").json()
    conversation_body = client.get(f"/api/v1/conversations/{conversation.public_id}").json()

    assert contact_body["email"] == ""
    assert _valid(contact_body, "ContactOutput") == []
    assert _valid(conversation_body, "ConversationOutput") == []
    assert _valid({**contact_body, "email": "not an address"}, "ContactOutput") != []


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/channels/null%2Cnull", "/api/v1/nothing-here", "/api/v2/contacts"])
def test_unsafe_methods_on_unmatched_api_paths_answer_the_apis_json_404(world, method, path):
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32  # a browser's cookie without its token: Django's CSRF page before

    response = getattr(client, method)(path, "{}", content_type="application/json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "component,field",
    [("ContactInputRequest", "attributes"), ("ChannelCreateInputRequest", "config"),
     ("ChannelUpdateInputRequest", "config"), ("MessageCreateInputRequest", "content_attributes"),
     ("MessageCreateInputRequest", "metadata"), ("MessageUpdateInputRequest", "metadata")],
)
def test_json_fields_are_objects_and_not_null_in_the_schema_as_on_the_server(component, field):
    schema = _schema()["components"]["schemas"][component]["properties"][field]

    assert schema["type"] == "object"
    assert OAS31Validator(schema).is_valid({"a": [1, {"b": None}]})
    assert not OAS31Validator(schema).is_valid(None)
    assert not OAS31Validator(schema).is_valid([1])


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/conversations"])
@pytest.mark.parametrize("value", ["yesterday", "2026-05-13", "2026-05-13T10:00", "2026-05-13T10:00:00", "",
                                   "2026-05-13 10:00:00Z", "2026-13-01T10:00:00Z"])
def test_a_malformed_updated_since_is_a_400(world, api, path, value):
    response = api(world.acme.admin).get(path, {"updated_since": value})

    assert response.status_code == 400, response.content
    assert "updated_since" in response.json()["error"]["details"]


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/conversations"])
def test_a_well_formed_updated_since_filters(world, api, path):
    client = api(world.acme.admin)

    assert client.get(path, {"updated_since": "2000-01-01T00:00:00.5-03:00"}).json()["results"]
    assert client.get(path, {"updated_since": "2999-01-01T00:00:00Z"}).json()["results"] == []


@pytest.mark.parametrize("value", ["null", "abc", "1.0", "0", "-3", "101", " 5", "５"])
def test_a_mistyped_page_size_on_messages_is_a_400(world, api, value):
    response = api(world.acme.admin).get(f"/api/v1/conversations/{world.acme.conversation.public_id}/messages",
                                         {"page_size": value})

    assert response.status_code == 400, response.content
    assert "page_size" in response.json()["error"]["details"]


def test_page_size_is_documented_with_its_bounds():
    parameters = _schema()["paths"]["/api/v1/conversations/{conversation_id}/messages"]["get"]["parameters"]

    page_size = next(parameter for parameter in parameters if parameter["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}


@pytest.mark.parametrize("path,body", [("/api/v1/contacts", {"name": 12345}),
                                       ("/api/v1/channels", {"kind": "api", "name": 12345})])
def test_a_number_is_not_a_name(world, api, path, body):
    response = api(world.acme.admin).post(path, body, format="json")

    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]


def test_an_empty_string_is_no_id(world, api):
    """A UUID or null, as the schema says: "" clears nothing (DRF's related fields read it as null)."""
    side = world.acme
    answer = api(side.admin).patch(f"/api/v1/conversations/{side.conversation.public_id}", {"team_id": ""},
                                   format="json")

    assert answer.status_code == 400 and "team_id" in answer.json()["error"]["details"]
