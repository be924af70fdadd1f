"""/api/v1/webhooks: register (the secret shown once), list, change, delete, rotate, test,
delivery log and replay; tenant admins only; another tenant's endpoints are 404; SSRF refused."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from accounts.models import AuditEntry, Role
from tests.api.test_schema import _assert_matches_schema, _schema
from tests.webhooks.conftest import Answer
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _register(client, url, events=("message.received", "conversation.created"), **extra):
    return client.post("/api/v1/webhooks/register", {"url": url, "events": list(events), **extra}, format="json")


def test_an_admin_registers_lists_changes_and_deletes_an_endpoint(acme, admin, api, receiver):
    client = api(admin)

    created = _register(client, receiver.url, description="CRM")

    assert created.status_code == 201, created.content
    _assert_matches_schema(created, "post", "/api/v1/webhooks/register")
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["message.received", "conversation.created"]
    listed = client.get("/api/v1/webhooks").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0] and "secret" not in client.get(f"/api/v1/webhooks/{body['id']}").json()
    endpoint = WebhookEndpoint.all_objects.get(public_id=body["id"])
    assert endpoint.secret["current"] == body["secret"]

    changed = client.patch(f"/api/v1/webhooks/{body['id']}", {"events": ["contact.created"], "description": "x"},
                           format="json")
    assert changed.status_code == 200 and changed.json()["events"] == ["contact.created"]

    rotated = client.post(f"/api/v1/webhooks/{body['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] not in ("", body["secret"])
    assert rotated.json()["secret_rotated_until"] is not None

    deleted = client.delete(f"/api/v1/webhooks/{body['id']}")
    assert deleted.status_code == 204 and not WebhookEndpoint.all_objects.exists()
    assert list(AuditEntry.all_objects.filter(tenant=acme, action__startswith="webhook.")
                .order_by("id").values_list("action", flat=True)) == [
        "webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted"]


def test_a_test_event_is_sent_signed_and_logged_and_a_delivery_can_be_replayed(
        acme, admin, api, receiver, django_capture_on_commit_callbacks):
    client = api(admin)
    created = _register(client, receiver.url).json()

    with django_capture_on_commit_callbacks(execute=True):
        test = client.post(f"/api/v1/webhooks/{created['id']}/test")

    assert test.status_code == 202, test.content
    request = receiver.received[0]
    body = Webhook(created["secret"]).verify(request.body, request.headers)
    assert body["event"] == "webhook.test" and body["data"]["webhook_id"] == created["id"]
    _assert_matches_schema(test, "post", "/api/v1/webhooks/{id}/test")

    deliveries = client.get(f"/api/v1/webhooks/{created['id']}/deliveries")
    _assert_matches_schema(deliveries, "get", "/api/v1/webhooks/{webhook_id}/deliveries")
    log = deliveries.json()["results"]
    assert [(row["id"], row["event"], row["attempts"], row["status"]) for row in log] == [
        (test.json()["id"], "webhook.test", 1, "succeeded")]
    assert log[0]["latency_ms"] is not None and log[0]["response_excerpt"] == "ok" and log[0]["response_status"] == 200

    receiver.answers(Answer(status=200, body=b"again"))
    with django_capture_on_commit_callbacks(execute=True):
        replay = client.post(f"/api/v1/webhooks/deliveries/{test.json()['id']}/replay")
    assert replay.status_code == 202
    again = WebhookDelivery.all_objects.get(public_id=test.json()["id"])
    assert (again.attempts, again.status, again.response_excerpt) == (2, "succeeded", "again")
    assert [r.headers["webhook-id"] for r in receiver.received] == [test.json()["id"]] * 2


def test_only_tenant_admins_manage_webhooks(acme, member, api, receiver):
    admin_endpoint = _register(api(member(acme, Role.TENANT_ADMIN)), receiver.url).json()

    for role in (Role.MANAGER, Role.AGENT, Role.VIEWER):
        client = api(member(acme, role))
        assert _register(client, receiver.url).status_code == 403
        assert client.get("/api/v1/webhooks").status_code == 403
        assert client.delete(f"/api/v1/webhooks/{admin_endpoint['id']}").status_code == 403
    assert WebhookEndpoint.all_objects.count() == 1


def test_another_tenants_endpoints_and_deliveries_are_404(acme, globex, member, api, receiver,
                                                          django_capture_on_commit_callbacks):
    ours = api(member(acme, Role.TENANT_ADMIN))
    created = _register(ours, receiver.url).json()
    with django_capture_on_commit_callbacks(execute=True):
        delivery = ours.post(f"/api/v1/webhooks/{created['id']}/test").json()
    theirs = api(member(globex, Role.TENANT_ADMIN))

    answers = [
        theirs.get(f"/api/v1/webhooks/{created['id']}"),
        theirs.patch(f"/api/v1/webhooks/{created['id']}", {"description": "mine"}, format="json"),
        theirs.delete(f"/api/v1/webhooks/{created['id']}"),
        theirs.post(f"/api/v1/webhooks/{created['id']}/rotate-secret"),
        theirs.post(f"/api/v1/webhooks/{created['id']}/test"),
        theirs.get(f"/api/v1/webhooks/{created['id']}/deliveries"),
        theirs.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay"),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert theirs.get("/api/v1/webhooks").json()["results"] == []
    endpoint = WebhookEndpoint.all_objects.get(public_id=created["id"])
    assert endpoint.description == "" and endpoint.secret["current"] == created["secret"]
    assert WebhookDelivery.all_objects.get().attempts == 1 and len(receiver.received) == 1


def test_unknown_events_and_bad_urls_are_refused(acme, admin, api):
    client = api(admin)

    unknown = _register(client, "https://example.com/hooks", events=["message.exploded"])
    none = _register(client, "https://example.com/hooks", events=[])
    ftp = _register(client, "ftp://example.com/hooks")

    assert unknown.status_code == 400 and "events" in unknown.json()["error"]["details"]
    assert none.status_code == 400
    assert ftp.status_code in (400, 422) and "url" in ftp.json()["error"]["details"]
    assert not WebhookEndpoint.all_objects.exists()


def test_the_event_types_are_listed(acme, admin, api):
    names = [item["name"] for item in api(admin).get("/api/v1/webhooks/events").json()]

    assert {"message.received", "message.created", "message.status_changed", "conversation.created",
            "conversation.updated", "conversation.status_changed", "conversation.assigned", "contact.created",
            "contact.updated", "channel.status_changed"} <= set(names)


def test_the_schema_documents_the_payloads(receiver, acme, member, api, django_capture_on_commit_callbacks):
    """The components describe what is sent: a real body validates against them."""
    from openapi_schema_validator import OAS31Validator

    from tests import factories
    from webhooks.services import webhook_endpoint_register

    schema = _schema()

    components = schema["components"]["schemas"]
    assert {"WebhookEnvelope", "WebhookMessageData", "WebhookConversationData", "WebhookContactData",
            "WebhookChannelData"} <= set(components)
    assert components["WebhookEnvelope"]["properties"]["version"]["enum"] == [1]
    assert "/api/v1/webhooks/register" in schema["paths"]

    channel = factories.ChannelFactory(tenant=acme, kind="api")
    webhook_endpoint_register(tenant=acme, actor=None, url=receiver.url,
                              events=["message.received", "conversation.created", "contact.created"])
    with django_capture_on_commit_callbacks(execute=True):
        api(member(acme, Role.MANAGER)).post(f"/api/v1/channels/{channel.public_id}/messages", {
            "contact": {"external_id": "c-1", "name": "Ana"}, "content": "Oi"}, format="json")
    assert len(receiver.received) == 3
    envelope = {"$ref": "#/components/schemas/WebhookEnvelope", "components": schema["components"]}
    for request in receiver.received:
        errors = list(OAS31Validator(envelope).iter_errors(request.json()))
        assert not errors, errors[0]
