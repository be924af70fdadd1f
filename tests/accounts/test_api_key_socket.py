"""The integrators' WebSocket takes access JWTs only: an API key sent there is refused with a
code that says so (a key's access is checked per request, the socket follows JWTs' revocation)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.api_keys import api_key_create
from accounts.models import Role
from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_an_api_key_is_refused_on_the_integrator_socket_with_a_clear_code(acme, member):
    admin = await database_sync_to_async(member)(acme, Role.TENANT_ADMIN)
    created = await database_sync_to_async(api_key_create)(tenant=acme, actor=admin.user, name="Socket",
                                                           scope="read")
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "auth", "token": created.key})

        error = await communicator.receive_json_from(timeout=3)
        assert error["type"] == "error" and error["code"] == "api_key_not_accepted"
        assert "JWT" in error["message"]
        assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    finally:
        await communicator.disconnect()
