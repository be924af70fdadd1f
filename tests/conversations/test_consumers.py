"""The WebSockets, through the real ASGI application (session and origin checks
included), with Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.access import TenantAccess
from accounts.models import Role
from accounts.services import membership_remove, tokens_issue
from config.asgi import application
from conversations import realtime
from conversations.incoming import IncomingMessage
from tenants.models import TenantEvent
from tests import factories
from tests.ids import assert_no_integer_ids
from tests.sockets import channel_layer_per_test, receive  # noqa: F401 - an autouse fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


@asynccontextmanager
async def inbox_socket(user, origin=ORIGIN):
    cookie = await database_sync_to_async(_session_cookie)(user)
    communicator = WebsocketCommunicator(application, "/ws/inbox", headers=[origin, (b"cookie", cookie)])
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def _ready(communicator) -> dict:
    connected, code = await communicator.connect()
    assert connected, code
    ready = await communicator.receive_json_from(timeout=3)
    assert ready["type"] == "ready"
    return ready


async def _nothing(communicator) -> None:
    assert await communicator.receive_nothing(timeout=0.3)


@pytest.fixture
def scene(db):
    acme, globex = factories.TenantFactory(slug="acme"), factories.TenantFactory(slug="globex")
    worked = factories.ChannelFactory(tenant=acme)
    other = factories.ChannelFactory(tenant=acme)
    globex_channel = factories.ChannelFactory(tenant=globex)

    def member(tenant, role, channels=()):
        from channels_app.services import channel_access_grant

        membership = factories.MembershipFactory(tenant=tenant, role=role)
        for channel in channels:
            channel_access_grant(channel=channel, user=membership.user)
        return membership

    return {
        "acme": acme, "globex": globex, "worked": worked, "other": other, "globex_channel": globex_channel,
        "agent": member(acme, Role.AGENT, (worked,)), "agent2": member(acme, Role.AGENT, (worked,)),
        "outsider": member(acme, Role.AGENT, (other,)), "manager": member(acme, Role.MANAGER),
        "globex_admin": member(globex, Role.TENANT_ADMIN),
    }


async def test_anonymous_socket_is_refused(scene):
    communicator = WebsocketCommunicator(application, "/ws/inbox", headers=[ORIGIN])

    connected, code = await communicator.connect()

    assert not connected and code == 4401


async def test_inbox_socket_from_another_site_is_refused(scene):
    async with inbox_socket(scene["agent"].user, origin=(b"origin", b"https://evil.example")) as communicator:
        connected, _ = await communicator.connect()
        assert not connected


async def test_new_message_reaches_the_agents_of_its_channel_only(scene):
    async with (inbox_socket(scene["agent"].user) as agent, inbox_socket(scene["outsider"].user) as outsider,
                inbox_socket(scene["manager"].user) as manager,
                inbox_socket(scene["globex_admin"].user) as foreigner):
        for socket in (agent, outsider, manager, foreigner):
            await _ready(socket)

        message = await receive(scene["worked"], "wamid.A")

        frames = [await agent.receive_json_from(timeout=3) for _ in range(3)]
        assert [frame["name"] for frame in frames] == ["contact.created", "conversation.created", "message.created"]
        created = frames[-1]
        logged = await database_sync_to_async(TenantEvent.all_objects.get)(name="message.created")
        assert created["type"] == "event" and created["id"] == str(logged.public_id)
        conversation = await database_sync_to_async(lambda: message.conversation)()
        assert created["data"] == {"message_id": str(message.public_id), "conversation_id": str(conversation.public_id),
                                   "channel_id": str(scene["worked"].public_id), "direction": "INBOUND",
                                   "private": False, "has_media": False}
        assert_no_integer_ids(frames)
        assert [(await manager.receive_json_from(timeout=3))["name"] for _ in range(3)][-1] == "message.created"
        await _nothing(foreigner)
        await _nothing(outsider)  # not even the contact: it wrote to a channel the outsider does not work


def _receive_batch(channel, provider_ids):
    from conversations.incoming import ChannelInbound
    from conversations.services import messages_receive

    (received,) = messages_receive(inbound=[ChannelInbound(channel=channel, messages=[
        IncomingMessage(contact_external_id="5511987654321", provider_message_id=provider_id, content=provider_id)
        for provider_id in provider_ids])])
    return [item.message for item in received.messages]


async def test_a_batch_of_messages_reaches_each_socket_as_its_frames(scene):
    await receive(scene["worked"], "wamid.first")  # the conversation is open: the next ones go in one batch
    await receive(scene["other"], "wamid.first")
    async with inbox_socket(scene["agent"].user) as agent, inbox_socket(scene["outsider"].user) as outsider:
        await _ready(agent)
        await _ready(outsider)

        worked = await database_sync_to_async(_receive_batch)(scene["worked"], [f"wamid.{n}" for n in range(150)])
        await database_sync_to_async(_receive_batch)(scene["other"], ["wamid.x"])

        frames = [await agent.receive_json_from(timeout=3) for _ in range(150)]
        assert [frame["data"]["message_id"] for frame in frames] == [str(message.public_id) for message in worked]
        assert len({frame["id"] for frame in frames}) == 150
        await _nothing(agent)  # the other channel's message is not this agent's
        assert (await outsider.receive_json_from(timeout=3))["name"] == "message.created"
        await _nothing(outsider)


async def test_forwarding_an_event_does_not_hop_to_a_database_thread(scene, monkeypatch):
    closes = []

    async def counted():
        closes.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)
    async with inbox_socket(scene["agent"].user) as agent:
        await _ready(agent)
        before = len(closes)  # websocket.connect went through Channels' dispatch as usual

        await receive(scene["worked"], "wamid.forwarded")  # a new contact: several events

        names = [(await agent.receive_json_from(timeout=3))["name"] for _ in range(3)]
        assert "message.created" in names
        assert len(closes) == before


async def test_missed_events_are_replayed_once_after_reconnect(scene):
    async with inbox_socket(scene["agent"].user) as first:
        await _ready(first)
        await receive(scene["worked"], "wamid.1")
        seen = [await first.receive_json_from(timeout=3) for _ in range(3)]
    last_seen = seen[-1]["id"]

    missed = await receive(scene["worked"], "wamid.2", "enquanto você estava fora")
    await receive(scene["other"], "wamid.3", "canal de outra equipe")

    async with inbox_socket(scene["agent"].user) as again:
        await _ready(again)
        await again.send_json_to({"type": "resume", "after": last_seen})
        frames = []
        while True:
            frame = await again.receive_json_from(timeout=3)
            if frame["type"] == "resumed":
                break
            frames.append(frame)
    # A resume re-sends a short overlap before its anchor (commits can land out of id
    # order); the client drops ids it has. What is new is exactly what was missed.
    new = [f for f in frames if f["id"] > last_seen]  # public ids of events sort by time, as strings
    assert [f["data"]["message_id"] for f in new if f["name"] == "message.created"] == [str(missed.public_id)]
    assert all(f["data"].get("channel_id") in (None, str(scene["worked"].public_id)) for f in frames)
    assert_no_integer_ids(frames)
    assert len({f["id"] for f in frames}) == len(frames)
    assert frame["last"] == new[-1]["id"]


async def test_resume_from_an_unknown_point_asks_for_a_resync(scene):
    async with inbox_socket(scene["agent"].user) as socket:
        await _ready(socket)
        await socket.send_json_to({"type": "resume", "after": "0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"})
        assert await socket.receive_json_from(timeout=3) == {"type": "resync"}
        await socket.send_json_to({"type": "resume", "after": 10**9})  # an event id of before public ids
        assert await socket.receive_json_from(timeout=3) == {"type": "resync"}
        await socket.send_json_to({"type": "resume", "after": "not an id"})
        assert await socket.receive_json_from(timeout=3) == {"type": "resync"}


async def test_typing_reaches_other_agents_of_the_channel(scene):
    message = await receive(scene["worked"], "wamid.T")
    async with (inbox_socket(scene["agent"].user) as agent, inbox_socket(scene["agent2"].user) as colleague,
                inbox_socket(scene["outsider"].user) as outsider):
        for socket in (agent, colleague, outsider):
            await _ready(socket)

        conversation_id = str(await database_sync_to_async(lambda: message.conversation.public_id)())
        await agent.send_json_to({"type": "typing", "conversation_id": message.conversation_id})  # an integer: ignored
        await agent.send_json_to({"type": "typing", "conversation_id": "not an id"})
        await agent.send_json_to({"type": "typing", "conversation_id": conversation_id})

        typing = await colleague.receive_json_from(timeout=3)
        assert typing == {"type": "typing", "conversation_id": conversation_id,
                          "user": {"id": str(scene["agent"].user.public_id), "name": scene["agent"].user.get_full_name()}}
        await _nothing(colleague)
        await _nothing(agent)
        await _nothing(outsider)


async def test_removed_member_is_disconnected(scene):
    async with inbox_socket(scene["agent"].user) as socket:
        await _ready(socket)

        await database_sync_to_async(membership_remove)(membership=scene["agent"])

        output = await socket.receive_output(timeout=3)
        assert output == {"type": "websocket.close", "code": 4403}


def _token(membership) -> str:
    return tokens_issue(access=TenantAccess(user=membership.user, tenant=membership.tenant,
                                            role=membership.role))["access"]


async def test_integrator_socket_authenticates_with_a_jwt_message(scene):
    token = await database_sync_to_async(_token)(scene["manager"])
    communicator = WebsocketCommunicator(application, "/ws/v1/events")  # no Origin: not a browser
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "auth", "token": token})
        ready = await communicator.receive_json_from(timeout=3)
        assert ready["type"] == "ready" and ready["tenant"] == "acme" and ready["role"] == "MANAGER"
        assert ready["user"]["id"] == str(scene["manager"].user.public_id)

        message = await receive(scene["other"], "wamid.I")

        frames = [await communicator.receive_json_from(timeout=3) for _ in range(3)]
        assert frames[-1]["name"] == "message.created"
        assert frames[-1]["data"]["message_id"] == str(message.public_id)
        assert_no_integer_ids([ready, *frames])
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("first_message", [{"type": "auth", "token": "garbage"}, {"type": "resume", "after": 0},
                                           {"type": "auth"}])
async def test_integrator_socket_without_a_valid_token_is_closed(scene, first_message):
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        await communicator.connect()
        await communicator.send_json_to(first_message)

        error = await communicator.receive_json_from(timeout=3)
        assert error["type"] == "error"
        assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    finally:
        await communicator.disconnect()


async def test_integrator_token_of_another_tenant_sees_nothing_here(scene):
    token = await database_sync_to_async(_token)(scene["globex_admin"])
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        await communicator.connect()
        await communicator.send_json_to({"type": "auth", "token": token})
        assert (await communicator.receive_json_from(timeout=3))["tenant"] == "globex"

        await receive(scene["worked"], "wamid.G")

        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()


async def test_socket_waits_for_nothing_forever(scene):
    """The auth timer does not outlive a socket that closed early."""
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    await communicator.connect()
    await communicator.disconnect()
    await asyncio.sleep(0)


async def test_a_worker_process_sends_events_from_its_long_lived_loop(scene, monkeypatch, settings):
    """Celery worker processes send from one loop of their own (no loop and Redis connection
    per event); the frames still reach the browsers, through Redis."""
    from channels.layers import get_channel_layer

    if not type(get_channel_layer()).__module__.startswith("channels_redis"):
        pytest.skip("only a shared channel layer (Redis) can be reached from another process's loop")
    monkeypatch.setattr(realtime, "_sender", realtime._SenderLoop())
    async with inbox_socket(scene["agent"].user) as agent:
        await _ready(agent)

        message = await receive(scene["worked"], "wamid.W")

        frames = [await agent.receive_json_from(timeout=3) for _ in range(3)]
        assert frames[-1]["name"] == "message.created" and frames[-1]["data"]["message_id"] == str(message.public_id)


async def test_suspending_the_tenant_closes_its_sockets(scene):
    from tenants.models import Tenant
    from tenants.services import tenant_set_status

    async with inbox_socket(scene["agent"].user) as socket:
        await _ready(socket)

        await database_sync_to_async(tenant_set_status)(tenant=scene["acme"], status=Tenant.Status.SUSPENDED)

        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_a_socket_open_past_the_group_expiry_keeps_receiving(scene, settings):
    """channels_redis drops a group's members a group_expiry after they joined (a day by
    default): a socket left open overnight renews its membership well before, or it would go
    deaf with nothing to tell it. Here the expiry is 4 seconds; one of two sockets is aged past
    it in Redis, as a day would."""
    import time

    if not settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
        pytest.skip("group expiry is the shared channel layer's (Redis)")
    settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": {
        **settings.CHANNEL_LAYERS["default"]["CONFIG"], "group_expiry": 4}}}
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group_key = layer._group_key(realtime.tenant_group(scene["acme"].pk))
    async with inbox_socket(scene["agent"].user) as aged, inbox_socket(scene["agent2"].user) as fresh:
        await _ready(aged)
        await _ready(fresh)
        redis = layer.connection(layer.consistent_hash(group_key))
        members = [member.decode() for member in await redis.zrange(group_key, 0, -1)]
        assert len(members) == 2
        aged_name = members[0]
        await redis.zadd(group_key, {aged_name: time.time() - 86_400 * 2})

        renewed = False
        for _ in range(40):  # renewals come every second here (a quarter of the expiry)
            await asyncio.sleep(0.1)
            if ((await redis.zscore(group_key, aged_name)) or 0) > time.time() - 4:
                renewed = True
                break
        message = await receive(scene["worked"], "wamid.late")

        assert renewed, "the aged socket did not renew its membership"
        for socket in (aged, fresh):
            frames = [await socket.receive_json_from(timeout=3) for _ in range(3)]
            assert frames[-1]["name"] == "message.created"
            assert frames[-1]["data"]["message_id"] == str(message.public_id)

    await asyncio.sleep(1.5)  # a renewal tick after both closed: they stay gone
    assert await redis.zcard(group_key) == 0


async def test_a_request_answers_without_waiting_for_its_fan_out(scene, monkeypatch):
    """A web process's requests hand their events to a sender of their own: a POST answers
    while the fan-out to the sockets is still under way (held here until the POST answered;
    it waited for it before, and with hundreds of sockets in the process, it waited long)."""
    import json
    import threading

    from channels.testing import HttpCommunicator
    from channels_redis.core import RedisChannelLayer

    if not settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
        pytest.skip("the in-memory layer lives in the server's own loop")
    gate, sent = threading.Event(), []
    group_send = RedisChannelLayer.group_send

    async def held_group_send(layer, group, message):
        await asyncio.to_thread(gate.wait, 10)
        sent.append(message)  # before it goes: the socket may read the frame before this send returns
        await group_send(layer, group, message)

    monkeypatch.setattr(RedisChannelLayer, "group_send", held_group_send)
    token = await database_sync_to_async(lambda: tokens_issue(access=TenantAccess(
        user=scene["manager"].user, tenant=scene["acme"], role=Role.MANAGER))["access"])()

    async with inbox_socket(scene["agent"].user) as agent:
        await _ready(agent)
        body = json.dumps({"name": "Nova"}).encode()
        post = HttpCommunicator(application, "POST", "/api/v1/contacts", body=body, headers=[
            (b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), (b"host", b"testserver")])
        try:
            response = await post.get_response(timeout=5)
        finally:
            gate.set()

        assert response["status"] == 201, response["body"]
        frame = await agent.receive_json_from(timeout=5)
        assert frame["name"] == "contact.created"
        assert frame["data"]["contact_id"] == json.loads(response["body"])["id"]
        assert sent


def _renewing_every_second(settings) -> None:
    """Sockets renew (and re-check what opened them) every quarter of the group expiry."""
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer.get("CONFIG", {}), "group_expiry": 4}}}


async def test_an_open_integrator_socket_closes_once_its_login_is_revoked(scene, settings):
    from rest_framework.test import APIClient

    _renewing_every_second(settings)
    tokens = await database_sync_to_async(tokens_issue)(access=TenantAccess(
        user=scene["manager"].user, tenant=scene["acme"], role=Role.MANAGER))
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        await communicator.connect()
        await communicator.send_json_to({"type": "auth", "token": tokens["access"]})
        assert (await communicator.receive_json_from(timeout=3))["type"] == "ready"
        await asyncio.sleep(1.5)  # a round of renewal: still open
        assert await communicator.receive_nothing(timeout=0.1)

        revoked = await database_sync_to_async(APIClient().post)(
            "/api/v1/auth/revoke", {"refresh": tokens["refresh"]}, format="json")

        assert revoked.status_code == 204
        assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    finally:
        await communicator.disconnect()


async def test_an_open_inbox_socket_closes_once_the_password_changes(scene, settings):
    _renewing_every_second(settings)
    user = scene["agent"].user
    async with inbox_socket(user) as socket:
        await _ready(socket)

        def change_password():
            user.set_password("uma-senha-nova-2026")
            user.save()

        await database_sync_to_async(change_password)()

        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
