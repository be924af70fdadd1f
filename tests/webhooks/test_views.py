"""Settings → Webhooks: an admin adds an endpoint (its secret shown once), sends a test event,
reads the delivery log, replays, disables and enables it, rotates the secret and deletes it;
other roles are refused, another tenant's endpoint is a 404."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEntry, Role
from tests.factories import PASSWORD
from tests.webhooks.conftest import Answer
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _login(member) -> Client:
    client = Client()
    assert client.post("/login/", {"email": member.user.email, "password": PASSWORD}).status_code == 302
    return client


def test_an_admin_manages_an_endpoint_from_the_settings_page(acme, admin, receiver,
                                                             django_capture_on_commit_callbacks):
    client = _login(admin)

    added = client.post("/settings/webhooks/", {"url": receiver.url, "description": "<b>CRM</b>",
                                                "events": ["message.received", "contact.created"]})

    endpoint = WebhookEndpoint.all_objects.get()
    assert added.status_code == 302 and added["Location"] == f"/settings/webhooks/{endpoint.public_id}/"
    first = client.get(added["Location"]).content.decode()
    assert endpoint.secret["current"] in first
    again = client.get(added["Location"]).content.decode()
    assert endpoint.secret["current"] not in again  # shown once
    listing = client.get("/settings/webhooks/").content.decode()
    assert receiver.url in listing and "&lt;b&gt;CRM&lt;/b&gt;" in listing and "<b>CRM</b>" not in listing

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/webhooks/{endpoint.public_id}/test/")
    delivery = WebhookDelivery.all_objects.get()
    assert delivery.status == "succeeded" and len(receiver.received) == 1
    page = client.get(f"/settings/webhooks/{endpoint.public_id}/").content.decode()
    assert "webhook.test" in page and "HTTP 200" in page and f"{delivery.latency_ms} ms" in page

    receiver.answers(Answer(status=200, body=b"replayed"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/webhooks/deliveries/{delivery.public_id}/replay/")
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.response_excerpt == "replayed"

    client.post(f"/settings/webhooks/{endpoint.public_id}/", {"url": receiver.url, "events": ["contact.updated"]})
    client.post(f"/settings/webhooks/{endpoint.public_id}/disable/")
    endpoint.refresh_from_db()
    assert endpoint.events == ["contact.updated"] and not endpoint.is_active
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/webhooks/{endpoint.public_id}/enable/", {"replay_missed": "on"})
    rotated = client.post(f"/settings/webhooks/{endpoint.public_id}/rotate/", follow=True).content.decode()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.secret["current"] in rotated

    client.post(f"/settings/webhooks/{endpoint.public_id}/delete/")
    assert not WebhookEndpoint.all_objects.exists()
    assert list(AuditEntry.all_objects.filter(tenant=acme, action__startswith="webhook.").order_by("id")
                .values_list("action", flat=True)) == [
        "webhook.created", "webhook.updated", "webhook.disabled", "webhook.enabled", "webhook.secret_rotated",
        "webhook.deleted"]


def test_a_refused_url_is_shown_on_the_form(acme, admin, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client = _login(admin)

    answer = client.post("/settings/webhooks/", {"url": "http://169.254.169.254/latest", "events": ["contact.created"]})

    assert answer.status_code == 400 and not WebhookEndpoint.all_objects.exists()
    assert "inline-error" in answer.content.decode()


def test_other_roles_are_refused_and_another_tenants_endpoint_is_404(acme, globex, member, receiver):
    from webhooks.services import webhook_endpoint_register

    endpoint, _ = webhook_endpoint_register(tenant=acme, actor=None, url=receiver.url, events=["contact.created"])
    manager = _login(member(acme, Role.MANAGER))
    outsider = _login(member(globex, Role.TENANT_ADMIN))

    assert manager.get("/settings/webhooks/").status_code == 403
    assert manager.post(f"/settings/webhooks/{endpoint.public_id}/delete/").status_code == 403
    assert outsider.get(f"/settings/webhooks/{endpoint.public_id}/").status_code == 404
    assert outsider.post(f"/settings/webhooks/{endpoint.public_id}/delete/").status_code == 404
    assert "Webhooks" not in manager.get("/settings/labels/").content.decode()
    assert WebhookEndpoint.all_objects.filter(pk=endpoint.pk).exists()
