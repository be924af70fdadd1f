"""An access token ends with what it was issued under: its refresh token revoked (a denylist
of login sessions in the cache, checked on every request), the user's password changed, the
user deactivated, the member's role changed; for the API and for new integrator sockets."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import membership_change_role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(email: str) -> dict[str, Any]:
    response = APIClient().post("/api/v1/auth/token", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_revoking_a_refresh_token_ends_its_access_tokens(acme: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    first = _login(agent.user.email)
    rotated = APIClient().post("/api/v1/auth/refresh", {"refresh": first["refresh"]}, format="json").json()
    other_session = _login(agent.user.email)
    assert _bearer(rotated["access"]).get("/api/v1/conversations").status_code == 200

    revoked = APIClient().post("/api/v1/auth/revoke", {"refresh": rotated["refresh"]}, format="json")

    assert revoked.status_code == 204
    for access in (rotated["access"], first["access"]):  # the whole login session, rotations included
        response = _bearer(access).get("/api/v1/conversations")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "token_revoked"
    assert _bearer(other_session["access"]).get("/api/v1/conversations").status_code == 200  # another login


def test_a_password_change_ends_access_and_refresh_tokens(acme: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    tokens = _login(agent.user.email)

    agent.user.set_password("a-new-password-2026")
    agent.user.save()

    response = _bearer(tokens["access"]).get("/api/v1/conversations")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "password_changed"
    assert APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_deactivation_and_a_role_change_end_access_tokens(acme: Any, member: Any) -> None:
    agent, manager = member(acme, Role.AGENT), member(acme, Role.MANAGER)
    agent_tokens, manager_tokens = _login(agent.user.email), _login(manager.user.email)

    agent.user.is_active = False
    agent.user.save()
    membership_change_role(membership=manager, role=Role.VIEWER)

    assert _bearer(agent_tokens["access"]).get("/api/v1/conversations").status_code == 401
    assert _bearer(manager_tokens["access"]).get("/api/v1/conversations").status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_revoked_token_opens_no_integrator_socket(acme: Any, member: Any) -> None:
    from config.asgi import application

    manager = await database_sync_to_async(member)(acme, Role.MANAGER)
    tokens = await database_sync_to_async(_login)(manager.user.email)
    await database_sync_to_async(
        lambda: APIClient().post("/api/v1/auth/revoke", {"refresh": tokens["refresh"]}, format="json"))()

    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "auth", "token": tokens["access"]})

        error = await communicator.receive_json_from(timeout=3)
        assert error["type"] == "error" and error["code"] == "token_not_valid"
        assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    finally:
        await communicator.disconnect()
