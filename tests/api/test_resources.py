"""Behaviour of the resources beyond isolation and permissions."""

from __future__ import annotations

import pytest

from accounts.models import Role
from accounts.services import membership_create
from channels_app.models import Channel
from config.errors import PlanLimitExceeded
from tenants.models import Tenant
from tests import factories

pytestmark = pytest.mark.django_db


def test_channel_past_the_plan_limit_is_refused_clearly(world, api):
    side = world.acme
    Tenant.objects.filter(pk=side.tenant.pk).update(max_channels=3)
    client = api(side.admin)

    third = client.post("/api/v1/channels", {"kind": "api", "name": "Third"}, format="json")
    fourth = client.post("/api/v1/channels", {"kind": "api", "name": "Fourth"}, format="json")

    assert third.status_code == 201
    assert fourth.status_code == 403
    error = fourth.json()["error"]
    assert error["code"] == "plan_limit_exceeded"
    assert error["details"] == {"resource": "channels", "limit": 3, "usage": 3}
    assert "3 channels" in error["message"]


def test_archived_channels_free_their_place_and_keep_conversations(world, api):
    side = world.acme
    Tenant.objects.filter(pk=side.tenant.pk).update(max_channels=2)
    client = api(side.admin)

    archived = client.delete(f"/api/v1/channels/{side.other_channel.public_id}")
    created = client.post("/api/v1/channels", {"kind": "api", "name": "Replacement"}, format="json")

    assert archived.status_code == 204 and created.status_code == 201
    assert side.other_channel.pk not in [c["id"] for c in client.get("/api/v1/channels").json()]
    assert client.get(f"/api/v1/conversations/{side.hidden_conversation.public_id}").status_code == 200


def test_channel_credentials_are_write_only_and_merged(world, api):
    side = world.acme
    client = api(side.admin)
    created = client.post("/api/v1/channels", {"kind": "api", "name": "Suporte",
                                               "config": {"phone_number_id": "123"},
                                               "credentials": {"access_token": "EAAG-secret-token", "app_secret": "s1"}},
                          format="json").json()

    updated = client.patch(f"/api/v1/channels/{created['id']}", {"credentials": {"app_secret": "s2", "access_token": None,
                                                                                 "verify_token": "v"}}, format="json")
    detail = client.get(f"/api/v1/channels/{created['id']}")

    assert updated.json()["credential_keys"] == ["app_secret", "verify_token"]
    for response in (updated, detail):
        assert "secret-token" not in response.content.decode() and '"s2"' not in response.content.decode()
    channel = Channel.all_objects.get(public_id=created["id"])
    assert dict(channel.credentials) == {"app_secret": "s2", "verify_token": "v"}
    assert "s2" not in repr(channel.credentials) and "s2" not in str(channel.credentials)
    assert detail.json()["webhook_url"].endswith(f"/webhooks/api/{channel.webhook_token}")
    assert detail.json()["config"] == {"phone_number_id": "123"}


def test_contact_phone_is_normalised_and_searchable_as_written(world, api):
    client = api(world.acme.agent)

    created = client.post("/api/v1/contacts", {"name": "João Souza", "phone": "(11) 98765-4321",
                                               "email": "Joao@Example.COM"}, format="json")
    by_e164 = client.get("/api/v1/contacts", {"phone": "+55 11 98765-4321"}).json()["results"]
    by_written = client.get("/api/v1/contacts", {"search": "11 98765-4321"}).json()["results"]
    by_part = client.get("/api/v1/contacts", {"search": "98765"}).json()["results"]
    by_email = client.get("/api/v1/contacts", {"email": "joao@example.com"}).json()["results"]

    assert created.status_code == 201
    assert created.json()["phone"] == "+5511987654321"
    assert created.json()["email"] == "joao@example.com"
    for rows in (by_e164, by_written, by_part, by_email):
        assert [row["id"] for row in rows] == [created.json()["id"]]


def test_conversations_are_sorted_by_last_activity_and_paginated_by_cursor(acme, member, api):
    manager = member(acme, Role.MANAGER)
    channel = factories.ChannelFactory(tenant=acme)
    conversations = [factories.ConversationFactory(tenant=acme, channel=channel) for _ in range(5)]
    client = api(manager)

    first = client.get("/api/v1/conversations", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert seen == [str(c.public_id) for c in reversed(conversations)]
    assert third["next"] is None


def test_message_reply_is_idempotent_on_external_id(world, api):
    side = world.acme
    client = api(side.agent)
    path = f"/api/v1/conversations/{side.conversation.public_id}/messages"

    first = client.post(path, {"content": "Pedido enviado", "external_id": "crm-9"}, format="json")
    retry = client.post(path, {"content": "Pedido enviado", "external_id": "crm-9"}, format="json")

    assert first.status_code == 201 and retry.status_code == 200
    assert first.json()["id"] == retry.json()["id"]


def test_agent_seats_are_limited_by_the_plan(acme, member):
    Tenant.objects.filter(pk=acme.pk).update(max_agents=1)
    acme.refresh_from_db()
    member(acme, Role.AGENT)

    with pytest.raises(PlanLimitExceeded):
        membership_create(tenant=acme, user=factories.UserFactory(), role=Role.AGENT)
    membership_create(tenant=acme, user=factories.UserFactory(), role=Role.VIEWER)  # viewers take no seat


def test_a_free_reply_outside_the_window_is_a_422_with_a_code(acme, member, api):
    from datetime import timedelta

    from django.utils import timezone

    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    agent = member(acme, Role.AGENT, channels=(channel,))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel,
                                                 last_inbound_at=timezone.now() - timedelta(days=2))

    response = api(agent).post(f"/api/v1/conversations/{conversation.public_id}/messages", {"content": "oi"}, format="json")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "service_window_closed"
