"""A number moves between providers of its network in place (POST /api/v1/channels/{id}/transport):
its contacts, conversations and messages stay; anything else is refused, saying why."""

from __future__ import annotations

import pytest

from accounts.models import Role
from channels_app.models import Channel
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_channel_cannot_move_to_a_kind_of_another_network(acme, member, api):
    admin = member(acme, Role.TENANT_ADMIN)
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Integração")

    moved = api(admin).post(f"/api/v1/channels/{channel.public_id}/transport",
                            {"kind": "whatsapp_cloud", "config": {}}, format="json")
    unknown = api(admin).post(f"/api/v1/channels/{channel.public_id}/transport",
                              {"kind": "zenvia_sms"}, format="json")

    assert moved.status_code == 422 and moved.json()["error"]["code"] == "transport_incompatible"
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "channel_kind_not_available"
    assert Channel.all_objects.get(pk=channel.pk).kind == "api"


def test_only_a_manager_moves_a_channel(acme, member, api):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    agent = member(acme, Role.AGENT, channels=(channel,))

    answer = api(agent).post(f"/api/v1/channels/{channel.public_id}/transport", {"kind": "api"}, format="json")

    assert answer.status_code == 403
