"""The integrators' WebSocket takes an API key as it takes an access JWT (the first message's
`token`): the socket sees what the key sees (only its channels, when it is limited to some), a
revoked, expired or unknown key is refused with the API's code, and an open socket follows its
key: revoked, expired, or its maker no longer an administrator, it closes (4401)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.api_keys import api_key_create, api_key_revoke
from accounts.models import ApiKey, Role
from accounts.services import membership_deactivate
from config.asgi import application
from tests import factories
from tests.ids import assert_no_integer_ids
from tests.sockets import channel_layer_per_test, receive  # noqa: F401 - an autouse fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture
def side(acme: Any, member: Any) -> SimpleNamespace:
    whatsapp = factories.ChannelFactory(tenant=acme, name="Acme WhatsApp")
    email = factories.ChannelFactory(tenant=acme, name="Acme Email", kind="email")
    admin = member(acme, Role.TENANT_ADMIN, email="admin@acme.test")
    return SimpleNamespace(tenant=acme, whatsapp=whatsapp, email=email, admin=admin)


def _key(side: SimpleNamespace, **fields: Any) -> str:
    return api_key_create(tenant=side.tenant, actor=side.admin.user, name="Socket", scope="read", **fields).key


make_key = database_sync_to_async(_key)


@asynccontextmanager
async def key_socket(key: str) -> AsyncIterator[WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "auth", "token": key})
        yield communicator
    finally:
        await communicator.disconnect()


async def _refused_with(communicator: WebsocketCommunicator, code: str) -> None:
    error = await communicator.receive_json_from(timeout=3)
    assert error["type"] == "error" and error["code"] == code, error
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_an_api_key_opens_the_integrator_socket_and_streams_the_tenants_events(side):
    key = await make_key(side)
    async with key_socket(key) as socket:
        ready = await socket.receive_json_from(timeout=3)
        api_key = await database_sync_to_async(ApiKey.all_objects.get)()
        assert ready["type"] == "ready" and ready["tenant"] == "acme" and ready["role"] == "API_KEY"
        assert ready["user"]["id"] == str(side.admin.user.public_id)  # a key acts as its maker
        assert ready["api_key"] == {"id": str(api_key.public_id), "scope": "read", "channel_ids": []}
        assert api_key.last_used_at is not None

        message = await receive(side.email, "email-1")

        frames = [await socket.receive_json_from(timeout=3) for _ in range(3)]
        assert frames[-1]["name"] == "message.created"
        assert frames[-1]["data"]["message_id"] == str(message.public_id)
        assert_no_integer_ids([ready, *frames])


async def test_a_key_limited_to_channels_hears_only_their_events(side):
    key = await make_key(side, channel_ids=[side.whatsapp.public_id])
    async with key_socket(key) as socket:
        ready = await socket.receive_json_from(timeout=3)
        assert ready["api_key"]["channel_ids"] == [str(side.whatsapp.public_id)]

        await receive(side.email, "email-1")
        assert await socket.receive_nothing(timeout=0.3)  # not even the contact: it wrote to another channel
        message = await receive(side.whatsapp, "wamid.1")

        frames = [await socket.receive_json_from(timeout=3) for _ in range(3)]
        assert [frame["name"] for frame in frames] == ["contact.created", "conversation.created", "message.created"]
        assert frames[-1]["data"]["message_id"] == str(message.public_id)
        await socket.send_json_to({"type": "resume", "after": None})
        replayed = []
        while (frame := await socket.receive_json_from(timeout=3))["type"] == "event":
            replayed.append(frame)
        assert frame["type"] == "resumed"
        assert [item["data"]["message_id"] for item in replayed if item["name"] == "message.created"] == [
            str(message.public_id)]
        assert {item["data"]["channel_id"] for item in replayed if "channel_id" in item["data"]} == {
            str(side.whatsapp.public_id)}


@pytest.mark.parametrize("state, code", [("revoked", "api_key_revoked"), ("expired", "api_key_expired"),
                                         ("unknown", "api_key_invalid")])
async def test_a_revoked_expired_or_unknown_key_is_refused_with_the_apis_code(side, state, code):
    key = await make_key(side)

    def spoil() -> None:
        api_key = ApiKey.all_objects.get()
        if state == "revoked":
            api_key_revoke(api_key=api_key, actor=side.admin.user)
        elif state == "expired":
            ApiKey.all_objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    await database_sync_to_async(spoil)()
    async with key_socket(key if state != "unknown" else key[:-4] + "zzzz") as socket:
        await _refused_with(socket, code)


async def test_a_key_of_a_paused_account_is_refused(side):
    from tenants.models import Tenant

    key = await make_key(side)
    await database_sync_to_async(Tenant.objects.filter(pk=side.tenant.pk).update)(status=Tenant.Status.SUSPENDED)
    async with key_socket(key) as socket:
        error = await socket.receive_json_from(timeout=3)
        assert error["code"] == "tenant_suspended"
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


def _inbox_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def test_revoking_a_key_closes_its_open_sockets_and_no_one_else_hears_of_it(side):
    revoked_key, kept_key = await make_key(side), await make_key(side)
    cookie = await database_sync_to_async(_inbox_cookie)(side.admin.user)
    inbox = WebsocketCommunicator(application, "/ws/inbox", headers=[ORIGIN, (b"cookie", cookie)])
    try:
        async with key_socket(revoked_key) as revoked, key_socket(kept_key) as kept:
            assert (await inbox.connect())[0]
            for socket in (revoked, kept, inbox):
                assert (await socket.receive_json_from(timeout=3))["type"] == "ready"
            api_key = await database_sync_to_async(ApiKey.all_objects.get)(
                prefix=revoked_key[:16])

            await database_sync_to_async(api_key_revoke)(api_key=api_key, actor=side.admin.user)

            assert await revoked.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
            await receive(side.whatsapp, "wamid.after")
            for socket in (kept, inbox):  # still open, and the revocation is not a frame they get
                assert [(await socket.receive_json_from(timeout=3))["name"] for _ in range(3)] == [
                    "contact.created", "conversation.created", "message.created"]
            await kept.send_json_to({"type": "resume", "after": None})
            replayed = []
            while (frame := await kept.receive_json_from(timeout=3))["type"] == "event":
                replayed.append(frame["name"])
            assert "api_key.revoked" not in replayed and "message.created" in replayed
    finally:
        await inbox.disconnect()


async def test_a_keys_socket_closes_when_its_maker_is_deactivated(side, member):
    key = await make_key(side)
    other_admin = await database_sync_to_async(member)(side.tenant, Role.TENANT_ADMIN, email="outra@acme.test")
    async with key_socket(key) as socket:
        assert (await socket.receive_json_from(timeout=3))["type"] == "ready"

        await database_sync_to_async(membership_deactivate)(membership=side.admin, actor=other_admin.user)

        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_a_keys_socket_closes_when_the_key_expires(side):
    key = await make_key(side, expires_in_days=30)
    await database_sync_to_async(ApiKey.all_objects.update)(expires_at=timezone.now() + dt.timedelta(seconds=1))
    async with key_socket(key) as socket:
        assert (await socket.receive_json_from(timeout=3))["type"] == "ready"

        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def test_an_open_keys_socket_records_its_use_at_renewal(side, settings):
    """The socket re-checks its key at each renewal of its group membership (a quarter of the
    expiry: a second here), which records the key's use at most once a minute."""
    import asyncio

    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer.get("CONFIG", {}), "group_expiry": 4}}}
    key = await make_key(side)
    async with key_socket(key) as socket:
        assert (await socket.receive_json_from(timeout=3))["type"] == "ready"
        long_ago = timezone.now() - dt.timedelta(hours=1)
        await database_sync_to_async(ApiKey.all_objects.update)(last_used_at=long_ago)

        for _ in range(40):
            await asyncio.sleep(0.1)
            used = (await database_sync_to_async(ApiKey.all_objects.get)()).last_used_at
            if used != long_ago:
                break
        assert used is not None and used > long_ago
        assert await socket.receive_nothing(timeout=0.1)  # still open
