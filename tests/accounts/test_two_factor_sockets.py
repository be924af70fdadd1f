"""A tenant that requires two-factor login holds its live sockets to it too: an inbox socket
of a session that gave no code, and an integrator socket of a JWT issued without one, are
refused; with the code, both open."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.access import TenantAccess
from accounts.models import Role
from accounts.services import tokens_issue
from accounts.two_factor import SESSION_KEY, VERIFIED
from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def _session_cookie(user: Any, *, verified: bool) -> bytes:
    client = Client()
    client.force_login(user)
    if verified:
        session = client.session
        session[SESSION_KEY] = VERIFIED
        session.save()
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _token(membership: Any, *, two_factor: bool) -> str:
    access = TenantAccess(user=membership.user, tenant=membership.tenant, role=membership.role)
    return tokens_issue(access=access, two_factor=two_factor)["access"]


@pytest.fixture
def agent(acme: Any, member: Any) -> Any:
    acme.two_factor_required = True
    acme.save()
    return member(acme, Role.AGENT)


@pytest.mark.parametrize("verified, opens", [(False, False), (True, True)])
async def test_the_inbox_socket_needs_a_session_that_gave_a_code(agent: Any, verified: bool, opens: bool) -> None:
    cookie = await database_sync_to_async(_session_cookie)(agent.user, verified=verified)
    communicator = WebsocketCommunicator(application, "/ws/inbox", headers=[ORIGIN, (b"cookie", cookie)])
    try:
        connected, code = await communicator.connect()
        assert connected == opens, code
        if not opens:
            assert code == 4403
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("two_factor, opens", [(False, False), (True, True)])
async def test_the_integrator_socket_needs_a_token_issued_with_a_code(agent: Any, two_factor: bool,
                                                                      opens: bool) -> None:
    token = await database_sync_to_async(_token)(agent, two_factor=two_factor)
    communicator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "auth", "token": token})
        if opens:
            assert (await communicator.receive_json_from(timeout=3))["type"] == "ready"
        else:
            assert (await communicator.receive_json_from(timeout=3))["type"] == "error"
            assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    finally:
        await communicator.disconnect()


async def test_sockets_without_a_code_close_when_the_tenant_starts_requiring_it(acme: Any, member: Any) -> None:
    """Open before the tenant required two-factor login: the inbox socket of a session that gave
    no code and the integrator socket of a token issued without one close at once when an
    administrator turns the requirement on; a session that gave a code stays."""
    from accounts.two_factor import tenant_two_factor_require
    from tests.accounts.conftest import enrol

    agent = await database_sync_to_async(member)(acme, Role.AGENT)
    admin = await database_sync_to_async(member)(acme, Role.TENANT_ADMIN, email="chefe@acme.test")
    await database_sync_to_async(enrol)(admin.user)
    without_code = await database_sync_to_async(_session_cookie)(agent.user, verified=False)
    with_code = await database_sync_to_async(_session_cookie)(admin.user, verified=True)
    token = await database_sync_to_async(_token)(agent, two_factor=False)
    inbox = WebsocketCommunicator(application, "/ws/inbox", headers=[ORIGIN, (b"cookie", without_code)])
    verified = WebsocketCommunicator(application, "/ws/inbox", headers=[ORIGIN, (b"cookie", with_code)])
    integrator = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        assert (await inbox.connect())[0] and (await verified.connect())[0] and (await integrator.connect())[0]
        await integrator.send_json_to({"type": "auth", "token": token})
        for socket in (inbox, verified, integrator):
            assert (await socket.receive_json_from(timeout=3))["type"] == "ready"

        await database_sync_to_async(tenant_two_factor_require)(tenant=acme, actor=admin.user, required=True)

        assert await inbox.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
        assert await integrator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
        frame = await verified.receive_json_from(timeout=3)
        assert frame["name"] == "tenant.two_factor_required"
    finally:
        for socket in (inbox, verified, integrator):
            await socket.disconnect()


async def test_turning_it_on_closes_the_sockets_of_the_other_logins_and_keeps_this_ones(
        acme: Any, member: Any, monkeypatch: Any) -> None:
    """The inbox socket of another session and the integrator socket of a JWT issued before close
    (4401) at once, by the access event; the socket of the session that turned it on stays, and so
    does a colleague's."""
    import datetime as dt

    import rest_framework_simplejwt.tokens as simplejwt_tokens
    from django.utils import timezone

    from accounts.two_factor import two_factor_enrolment_confirm, two_factor_enrolment_start

    agent = await database_sync_to_async(member)(acme, Role.AGENT)
    colleague = await database_sync_to_async(member)(acme, Role.AGENT, email="colega@acme.test")
    here = await database_sync_to_async(_session_cookie)(agent.user, verified=False)
    elsewhere = await database_sync_to_async(_session_cookie)(agent.user, verified=False)
    theirs = await database_sync_to_async(_session_cookie)(colleague.user, verified=False)
    earlier = timezone.now() - dt.timedelta(seconds=3)  # tokens carry their issue time in whole seconds
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: earlier)
    token = await database_sync_to_async(_token)(agent, two_factor=False)
    monkeypatch.undo()
    sockets = {name: WebsocketCommunicator(application, "/ws/inbox", headers=[ORIGIN, (b"cookie", cookie)])
               for name, cookie in (("here", here), ("elsewhere", elsewhere), ("theirs", theirs))}
    sockets["integrator"] = WebsocketCommunicator(application, "/ws/v1/events")
    try:
        for socket in sockets.values():
            assert (await socket.connect())[0]
        await sockets["integrator"].send_json_to({"type": "auth", "token": token})
        for socket in sockets.values():
            assert (await socket.receive_json_from(timeout=3))["type"] == "ready"

        def turn_on() -> None:
            import pyotp

            enrolment = two_factor_enrolment_start(user=agent.user)
            here_key = here.decode().split("=", 1)[1]
            two_factor_enrolment_confirm(user=agent.user, code=pyotp.TOTP(enrolment.secret).now(),
                                         current_session_key=here_key)

        await database_sync_to_async(turn_on)()

        assert await sockets["elsewhere"].receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        assert await sockets["integrator"].receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        for name in ("here", "theirs"):  # open, and told nothing (the event is not a frame)
            assert await sockets[name].receive_nothing(timeout=0.3), name
        for name in ("here", "theirs"):  # and still answering
            await sockets[name].send_json_to({"type": "resume", "after": None})
            while (frame := await sockets[name].receive_json_from(timeout=3))["type"] == "event":
                assert frame["name"] != "user.logins_ended"
            assert frame["type"] == "resumed", frame
    finally:
        for socket in sockets.values():
            await socket.disconnect()
