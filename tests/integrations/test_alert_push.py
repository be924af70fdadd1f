"""An alert's notice reaches the admin's open inbox at once (the bell's count, over the inbox
WebSocket), and nobody else's socket: not another member's, not an integrator's."""

from __future__ import annotations

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.models import Role
from channels_app.models import Channel
from config.asgi import application
from integrations.monitoring.alerts import alerts_evaluate
from tests import factories
from tests.conversations.test_consumers import _ready, _token, inbox_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _scene() -> dict:
    acme = factories.TenantFactory(slug="acme")
    channel = factories.ChannelFactory(tenant=acme, name="Loja", status=Channel.Status.DISCONNECTED,
                                       status_changed_at=timezone.now() - dt.timedelta(hours=1))
    admin = factories.MembershipFactory(tenant=acme, role=Role.TENANT_ADMIN, user=factories.UserFactory(language="en"))
    agent = factories.MembershipFactory(tenant=acme, role=Role.AGENT)
    return {"acme": acme, "channel": channel, "admin": admin, "agent": agent}


async def test_the_admins_bell_is_told_live_and_no_one_else(transactional_db):
    scene = await database_sync_to_async(_scene)()
    token = await database_sync_to_async(_token)(scene["admin"])
    integrator = WebsocketCommunicator(application, "/ws/v1/events")
    async with inbox_socket(scene["admin"].user) as admin, inbox_socket(scene["agent"].user) as agent:
        await _ready(admin)
        await _ready(agent)
        try:
            await integrator.connect()
            await integrator.send_json_to({"type": "auth", "token": token})
            assert (await integrator.receive_json_from(timeout=3))["type"] == "ready"

            await database_sync_to_async(alerts_evaluate)()

            assert await admin.receive_json_from(timeout=3) == {
                "type": "notice", "unread": 1, "label": "Notifications: 1 unread",
                "title": "Channel Loja is disconnected"}
            assert await agent.receive_nothing(timeout=0.3)
            assert await integrator.receive_nothing(timeout=0.3)
        finally:
            await integrator.disconnect()
