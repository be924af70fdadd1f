"""An endpoint's URL may not lead into our own network: loopback, private, link-local, cloud
metadata and IPv6 unique-local addresses are refused when registered, and again at every
delivery (a name that resolved to a public address may resolve elsewhere later)."""

from __future__ import annotations

import pytest

from tests.webhooks.conftest import Answer
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_deliver, webhook_endpoint_register, webhook_test_send

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/hooks", "http://172.16.0.1/hooks", "http://172.31.255.254/hooks", "http://192.168.1.10/hooks",
    "http://127.0.0.1:8000/hooks", "http://169.254.169.254/latest/meta-data", "http://[::1]/hooks",
    "http://[fc00::1]/hooks", "http://[fd12:3456::1]/hooks", "http://[::ffff:10.0.0.1]/hooks", "http://localhost/x",
])
def test_a_private_address_is_refused_at_registration(acme, admin, api, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    answer = api(admin).post("/api/v1/webhooks/register", {"url": url, "events": ["message.received"]},
                             format="json")

    assert answer.status_code in (400, 422), answer.content
    assert "url" in answer.json()["error"]["details"]
    assert not WebhookEndpoint.all_objects.exists()


def test_a_name_that_later_resolves_to_a_private_address_is_not_called(acme, receiver, settings, monkeypatch):
    """DNS rebinding: public when registered, this machine when delivered."""
    import config.net
    import integrations.http

    settings.WEBHOOKS_ALLOW_PRIVATE = False
    port = receiver.server.server_port
    monkeypatch.setattr(config.net, "host_addresses", lambda host, port: [PUBLIC])
    endpoint, _ = webhook_endpoint_register(tenant=acme, actor=None, url=f"http://hooks.example.com:{port}/x",
                                            events=["message.received"])

    monkeypatch.setattr(integrations.http, "host_addresses", lambda host, port: ["127.0.0.1"])
    delivery = webhook_test_send(endpoint=endpoint)
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and "not on the internet" in delivery.error
    assert receiver.received == []


def test_an_endpoint_on_this_machine_is_not_called_unless_allowed(acme, receiver, settings):
    receiver.answers(Answer(status=200))
    endpoint, _ = webhook_endpoint_register(tenant=acme, actor=None, url=receiver.url, events=["message.received"])

    settings.WEBHOOKS_ALLOW_PRIVATE = False
    refused = webhook_test_send(endpoint=endpoint)
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)
    refused.refresh_from_db()
    assert refused.status == WebhookDelivery.Status.FAILED and receiver.received == []

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    allowed = webhook_test_send(endpoint=endpoint)
    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)
    allowed.refresh_from_db()
    assert allowed.status == WebhookDelivery.Status.SUCCEEDED and len(receiver.received) == 1
