"""Members: the Members page and /api/v1/members; the role rules (never without an active
administrator, nobody grants a role above their own) through the service, the page and the API;
deactivation refusing sessions and JWTs at once, closing live sockets and putting open
conversations back in the queue; per-channel access edited on the member, on the channel and
through the API, and what it changes for the agent; the audit log of each, per tenant."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import AuditAction, AuditEntry, Membership, Role
from accounts.services import membership_change_role, membership_deactivate, membership_remove
from config.asgi import application
from config.errors import ConflictError, PermissionDeniedError, PlanLimitExceeded
from conversations.models import Conversation
from tests import factories
from tests.accounts.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(acme: Any, member: Any) -> Membership:
    return member(acme, Role.TENANT_ADMIN, email="admin@acme.test", full_name="Ana Admin")


@pytest.fixture
def admin_client(admin: Membership) -> Client:
    return login(admin.user.email)[0]


def _reload(membership: Membership) -> Membership:
    return Membership.all_objects.get(pk=membership.pk)


# --- Role rules, in the service -----------------------------------------------------------


def test_the_last_active_administrator_is_never_demoted_deactivated_or_removed(acme: Any, admin: Membership,
                                                                               member: Any) -> None:
    for change in (lambda: membership_change_role(membership=admin, role=Role.MANAGER, actor=admin.user),
                   lambda: membership_deactivate(membership=admin, actor=admin.user),
                   lambda: membership_remove(membership=admin, actor=admin.user)):
        with pytest.raises(ConflictError) as refused:
            change()
        assert refused.value.code == "last_administrator"
    assert _reload(admin).role == Role.TENANT_ADMIN and _reload(admin).is_active

    # A deactivated administrator does not count as the other one.
    other = member(acme, Role.TENANT_ADMIN)
    membership_deactivate(membership=other, actor=admin.user)
    with pytest.raises(ConflictError):
        membership_change_role(membership=admin, role=Role.AGENT, actor=admin.user)

    colleague = member(acme, Role.TENANT_ADMIN)
    membership_change_role(membership=admin, role=Role.AGENT, actor=colleague.user)
    assert _reload(admin).role == Role.AGENT


def test_nobody_grants_a_role_above_their_own(acme: Any, admin: Membership, member: Any) -> None:
    manager, agent = member(acme, Role.MANAGER), member(acme, Role.AGENT)

    with pytest.raises(PermissionDeniedError):
        membership_change_role(membership=agent, role=Role.TENANT_ADMIN, actor=manager.user)
    with pytest.raises(PermissionDeniedError):  # nor touches someone above them
        membership_change_role(membership=admin, role=Role.MANAGER, actor=manager.user)
    membership_change_role(membership=agent, role=Role.MANAGER, actor=manager.user)  # up to their own
    with pytest.raises(Exception):  # noqa: B017 - the platform role is never a tenant's
        membership_change_role(membership=agent, role=Role.SUPER_ADMIN, actor=admin.user)
    assert _reload(agent).role == Role.MANAGER and _reload(admin).role == Role.TENANT_ADMIN


# --- The Members page --------------------------------------------------------------------


def test_members_page_lists_searches_and_pages(acme: Any, globex: Any, admin: Membership, admin_client: Client,
                                               member: Any) -> None:
    team = factories.TeamFactory(tenant=acme, name="Vendas")
    agent = member(acme, Role.AGENT, email="bia@acme.test", full_name="Bia Agente")
    team.members.add(agent.user)
    membership_deactivate(membership=member(acme, Role.VIEWER, email="caio@acme.test"), actor=admin.user)
    member(globex, Role.AGENT, email="outsider@globex.test")

    page = admin_client.get("/settings/members/").content.decode()
    found = admin_client.get("/settings/members/?q=bia").content.decode()
    deactivated = admin_client.get("/settings/members/?status=deactivated").content.decode()
    nobody = admin_client.get("/settings/members/?q=zzz")

    assert "bia@acme.test" in page and "caio@acme.test" in page and "Vendas" in page
    assert "outsider@globex.test" not in page
    assert 'action="/settings/members/invite/"' in page
    assert "bia@acme.test" in found and "caio@acme.test" not in found
    assert "caio@acme.test" in deactivated and "bia@acme.test" not in deactivated
    assert nobody.status_code == 200 and "empty-state" in nobody.content.decode()
    for number in range(60):
        member(acme, Role.VIEWER, email=f"viewer{number:02d}@acme.test")
    first, second = admin_client.get("/settings/members/"), admin_client.get("/settings/members/?page=2")
    assert 'rel="next"' in first.content.decode() and "viewer59@acme.test" in second.content.decode()


def test_managers_read_members_and_agents_are_refused(acme: Any, admin: Membership, member: Any) -> None:
    manager, agent = member(acme, Role.MANAGER), member(acme, Role.AGENT)
    manager_client, agent_client = login(manager.user.email)[0], login(agent.user.email)[0]

    read = manager_client.get("/settings/members/")
    detail = manager_client.get(f"/settings/members/{agent.user.public_id}/")
    change = manager_client.post(f"/settings/members/{agent.user.public_id}/role/", {"role": Role.VIEWER})
    refused = agent_client.get("/settings/members/")

    assert read.status_code == 200 and 'action="/settings/members/invite/"' not in read.content.decode()
    assert detail.status_code == 200 and "/role/" not in detail.content.decode()
    assert change.status_code == 403 and _reload(agent).role == Role.AGENT
    assert refused.status_code == 403 and 'role="alert"' in refused.content.decode()
    assert agent_client.get(f"/settings/members/{admin.user.public_id}/").status_code == 403


def test_roles_change_on_the_members_page_within_the_rules(acme: Any, globex: Any, admin: Membership,
                                                           admin_client: Client, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    foreign = member(globex, Role.AGENT)

    changed = admin_client.post(f"/settings/members/{agent.user.public_id}/role/", {"role": Role.MANAGER})
    demote_self = admin_client.post(f"/settings/members/{admin.user.public_id}/role/", {"role": Role.AGENT},
                                    follow=True)
    platform = admin_client.post(f"/settings/members/{agent.user.public_id}/role/", {"role": Role.SUPER_ADMIN})

    assert changed.status_code == 302 and _reload(agent).role == Role.MANAGER
    assert _reload(admin).role == Role.TENANT_ADMIN
    told = [str(message) for message in demote_self.context["messages"] if message.level_tag == "error"]
    assert len(told) == 1
    assert platform.status_code == 302 and _reload(agent).role == Role.MANAGER
    assert admin_client.post(f"/settings/members/{foreign.user.public_id}/role/",
                             {"role": Role.VIEWER}).status_code == 404
    entry = AuditEntry.all_objects.get(tenant=acme, action=AuditAction.MEMBER_ROLE_CHANGED)
    assert entry.actor == admin.user and entry.details == {"from": Role.AGENT, "to": Role.MANAGER}


# --- The API -----------------------------------------------------------------------------


def test_members_api_lists_filters_and_changes_roles(acme: Any, globex: Any, admin: Membership, member: Any,
                                                     api: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme)
    agent = member(acme, Role.AGENT, channels=(channel,), email="bia@acme.test")
    manager = member(acme, Role.MANAGER)
    member(globex, Role.AGENT, email="outsider@globex.test")
    client = api(admin)

    listed = client.get("/api/v1/members").json()["results"]
    agents = client.get("/api/v1/members?role=AGENT").json()["results"]
    one = client.get(f"/api/v1/members/{agent.user.public_id}").json()

    assert {item["email"] for item in listed} == {"admin@acme.test", "bia@acme.test", manager.user.email}
    assert [item["email"] for item in agents] == ["bia@acme.test"]
    assert one["channel_ids"] == [str(channel.public_id)] and one["is_active"] is True
    assert one["sees_all_channels"] is False and one["two_factor"] is False

    promoted = client.patch(f"/api/v1/members/{agent.user.public_id}", {"role": "MANAGER"}, format="json")
    last_admin = client.patch(f"/api/v1/members/{admin.user.public_id}", {"role": "AGENT"}, format="json")
    platform = client.patch(f"/api/v1/members/{agent.user.public_id}", {"role": "SUPER_ADMIN"}, format="json")
    by_manager = api(manager).patch(f"/api/v1/members/{agent.user.public_id}", {"role": "VIEWER"}, format="json")
    foreign = client.get(f"/api/v1/members/{factories.UserFactory().public_id}")

    assert promoted.status_code == 200 and promoted.json()["role"] == "MANAGER"
    assert last_admin.status_code == 409 and last_admin.json()["error"]["code"] == "last_administrator"
    assert platform.status_code == 400 and "role" in platform.json()["error"]["details"]
    assert by_manager.status_code == 403
    assert api(manager).get("/api/v1/members").status_code == 200
    assert api(member(acme, Role.AGENT)).get("/api/v1/members").status_code == 403
    assert foreign.status_code == 404
    assert _reload(admin).role == Role.TENANT_ADMIN and _reload(agent).role == Role.MANAGER


# --- Deactivation ------------------------------------------------------------------------


def test_deactivation_ends_the_session_and_the_jwt_at_once_and_reactivation_restores_them(
        acme: Any, admin: Membership, admin_client: Client, member: Any, api: Any) -> None:
    agent = member(acme, Role.AGENT)
    agent_client = login(agent.user.email)[0]
    agent_api = api(agent)
    assert agent_client.get("/inbox/").status_code == 200
    assert agent_api.get("/api/v1/conversations").status_code == 200

    deactivated = admin_client.post(f"/settings/members/{agent.user.public_id}/deactivate/")

    assert deactivated.status_code == 302 and not _reload(agent).is_active
    page = agent_client.get("/inbox/")
    assert page.status_code == 302 and page["Location"].startswith(settings.LOGIN_URL)
    refused = agent_api.get("/api/v1/conversations")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "membership_revoked"
    relogin = login(agent.user.email)[0]
    assert relogin.get("/inbox/").status_code == 302
    new_token = api().post("/api/v1/auth/token", {"email": agent.user.email, "password": PASSWORD}, format="json")
    assert new_token.status_code == 403 and new_token.json()["error"]["code"] == "no_membership"
    assert admin_client.get("/settings/members/?status=deactivated").content.decode().count(agent.user.email) == 1

    reactivated = api(admin).patch(f"/api/v1/members/{agent.user.public_id}", {"is_active": True}, format="json")

    assert reactivated.status_code == 200 and reactivated.json()["is_active"] is True
    assert agent_client.get("/inbox/").status_code == 200
    actions = list(AuditEntry.all_objects.filter(tenant=acme, target_id=str(agent.user.public_id))
                   .values_list("action", flat=True))
    assert AuditAction.MEMBER_DEACTIVATED in actions and AuditAction.MEMBER_REACTIVATED in actions


def test_reactivation_needs_a_free_seat(acme: Any, admin: Membership, member: Any, api: Any) -> None:
    agent = member(acme, Role.AGENT)
    membership_deactivate(membership=agent, actor=admin.user)
    acme.max_agents = 2
    acme.save()
    member(acme, Role.AGENT)  # the seat the deactivated member left is taken

    refused = api(admin).patch(f"/api/v1/members/{agent.user.public_id}", {"is_active": True}, format="json")

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "plan_limit_exceeded"
    assert not _reload(agent).is_active
    with pytest.raises(PlanLimitExceeded):
        membership_change_role(membership=member(acme, Role.VIEWER), role=Role.AGENT, actor=admin.user)


def test_deactivation_puts_open_conversations_back_in_the_queue(
        acme: Any, admin: Membership, member: Any, events: list[Any], django_capture_on_commit_callbacks: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme)
    agent = member(acme, Role.AGENT, channels=(channel,))
    open_one, pending = (factories.ConversationFactory(tenant=acme, channel=channel, assignee=agent.user, status=s)
                         for s in (Conversation.Status.OPEN, Conversation.Status.PENDING))
    resolved = factories.ConversationFactory(tenant=acme, channel=channel, assignee=agent.user,
                                             status=Conversation.Status.RESOLVED)
    colleagues = factories.ConversationFactory(tenant=acme, channel=channel, assignee=admin.user)

    with django_capture_on_commit_callbacks(execute=True):
        membership_deactivate(membership=agent, actor=admin.user)

    assignees = dict(Conversation.all_objects.values_list("pk", "assignee_id"))
    assert assignees[open_one.pk] is None and assignees[pending.pk] is None
    assert assignees[resolved.pk] == agent.user.pk and assignees[colleagues.pk] == admin.user.pk
    assigned = [event for event in events if event.name == "conversation.assigned"]
    assert {event.conversation_id for event in assigned} == {str(open_one.public_id), str(pending.public_id)}
    assert all(event.assignee_id is None and event.previous_assignee_id == str(agent.user.public_id)
               for event in assigned)
    assert [event.name for event in events][0] == "membership.deactivated"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_deactivation_closes_a_live_socket(acme: Any, member: Any) -> None:
    admin = await sync_to_async(member)(acme, Role.TENANT_ADMIN)
    agent = await sync_to_async(member)(acme, Role.AGENT)
    client = Client()
    await sync_to_async(client.force_login)(agent.user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    socket = WebsocketCommunicator(application, "/ws/inbox",
                                   headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)])
    try:
        connected, code = await socket.connect()
        assert connected, code
        assert (await socket.receive_json_from(timeout=3))["type"] == "ready"

        await database_sync_to_async(membership_deactivate)(membership=agent, actor=admin.user)

        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    finally:
        await socket.disconnect()


# --- Channel access ----------------------------------------------------------------------


@pytest.fixture
def two_channels(acme: Any) -> dict[str, Any]:
    support, sales = factories.ChannelFactory(tenant=acme, name="Suporte"), factories.ChannelFactory(tenant=acme,
                                                                                                    name="Vendas")
    return {"support": support, "sales": sales,
            "support_conversation": factories.ConversationFactory(tenant=acme, channel=support),
            "sales_conversation": factories.ConversationFactory(tenant=acme, channel=sales)}


def _sees(client: Client, agent_api: Any, conversation: Conversation) -> bool:
    page = client.get(f"/inbox/c/{conversation.public_id}/").status_code
    api = agent_api.get(f"/api/v1/conversations/{conversation.public_id}").status_code
    assert (page == 200) == (api == 200), (page, api)
    return page == 200


def test_channel_access_edited_on_the_member_page(acme: Any, globex: Any, admin: Membership,
                                                  admin_client: Client, member: Any, api: Any,
                                                  two_channels: dict[str, Any]) -> None:
    agent = member(acme, Role.AGENT, channels=(two_channels["sales"],))
    agent_client, agent_api = login(agent.user.email)[0], api(agent)
    assert not _sees(agent_client, agent_api, two_channels["support_conversation"])
    page = admin_client.get(f"/settings/members/{agent.user.public_id}/").content.decode()
    assert f'value="{two_channels["sales"].public_id}" checked' in page

    saved = admin_client.post(f"/settings/members/{agent.user.public_id}/channels/",
                              {"channels": [str(two_channels["support"].public_id)]})

    assert saved.status_code == 302
    assert _sees(agent_client, agent_api, two_channels["support_conversation"])
    assert not _sees(agent_client, agent_api, two_channels["sales_conversation"])
    foreign = factories.ChannelFactory(tenant=globex)
    admin_client.post(f"/settings/members/{agent.user.public_id}/channels/", {"channels": [str(foreign.public_id)]})
    assert not agent.user.has_perm("channels_app.work_channel", foreign)
    assert _sees(agent_client, agent_api, two_channels["support_conversation"])  # nothing changed
    entries = AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.CHANNEL_ACCESS_CHANGED)
    assert {(entry.target_id, entry.details["granted"]) for entry in entries} >= {
        (str(two_channels["support"].public_id), True), (str(two_channels["sales"].public_id), False)}
    assert not AuditEntry.all_objects.filter(tenant=globex).exists()


def test_channel_access_edited_on_the_channel_page(acme: Any, admin: Membership, admin_client: Client, member: Any,
                                                   api: Any, two_channels: dict[str, Any]) -> None:
    agent = member(acme, Role.AGENT, email="bia@acme.test")
    viewer = member(acme, Role.VIEWER, email="caio@acme.test", channels=(two_channels["support"],))
    agent_client, agent_api = login(agent.user.email)[0], api(agent)
    support = two_channels["support"]
    page = admin_client.get(f"/settings/channels/{support.public_id}/").content.decode()
    assert "bia@acme.test" in page and f'value="{viewer.user.public_id}" checked' in page
    assert f'value="{admin.user.public_id}"' not in page  # administrators see every channel anyway

    saved = admin_client.post(f"/settings/channels/{support.public_id}/members/",
                              {"members": [str(agent.user.public_id)]})

    assert saved.status_code == 302
    assert _sees(agent_client, agent_api, two_channels["support_conversation"])
    assert not viewer.user.has_perm("channels_app.work_channel", support)
    manager_client = login(member(acme, Role.MANAGER).user.email)[0]
    read_only = manager_client.get(f"/settings/channels/{support.public_id}/").content.decode()
    assert "bia@acme.test" in read_only and f"/settings/channels/{support.public_id}/members/" not in read_only
    assert manager_client.post(f"/settings/channels/{support.public_id}/members/", {"members": []}).status_code == 403
    assert agent.user.has_perm("channels_app.work_channel", support)


def test_channel_access_set_through_the_api(acme: Any, admin: Membership, member: Any, api: Any,
                                            two_channels: dict[str, Any]) -> None:
    agent = member(acme, Role.AGENT, channels=(two_channels["sales"],))
    agent_client, agent_api = login(agent.user.email)[0], api(agent)

    saved = api(admin).put(f"/api/v1/members/{agent.user.public_id}/channels",
                           {"channel_ids": [str(two_channels["support"].public_id)]}, format="json")
    unknown = api(admin).put(f"/api/v1/members/{agent.user.public_id}/channels",
                             {"channel_ids": [str(factories.ChannelFactory().public_id)]}, format="json")
    malformed = api(admin).put(f"/api/v1/members/{agent.user.public_id}/channels", {"channel_ids": ["x"]},
                               format="json")

    assert saved.status_code == 200 and saved.json()["channel_ids"] == [str(two_channels["support"].public_id)]
    assert unknown.status_code == 422 and malformed.status_code == 400
    assert _sees(agent_client, agent_api, two_channels["support_conversation"])
    assert not _sees(agent_client, agent_api, two_channels["sales_conversation"])
    assert api(member(acme, Role.MANAGER)).put(f"/api/v1/members/{agent.user.public_id}/channels",
                                               {"channel_ids": []}, format="json").status_code == 403


def test_a_deactivated_member_is_no_longer_offered_nor_accepted_as_assignee(acme: Any, admin: Membership,
                                                                           admin_client: Client, member: Any,
                                                                           api: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme)
    agent = member(acme, Role.AGENT, channels=(channel,))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    assert str(agent.user.public_id) in admin_client.get(f"/inbox/c/{conversation.public_id}/").content.decode()

    membership_deactivate(membership=agent, actor=admin.user)

    assert str(agent.user.public_id) not in admin_client.get(f"/inbox/c/{conversation.public_id}/").content.decode()
    refused = api(admin).patch(f"/api/v1/conversations/{conversation.public_id}",
                               {"assignee_id": str(agent.user.public_id)}, format="json")
    assert refused.status_code == 422
    assert Conversation.all_objects.get(pk=conversation.pk).assignee is None


def test_members_page_and_api_queries_do_not_grow_with_members(acme: Any, admin: Membership, admin_client: Client,
                                                               member: Any, api: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    channel, team = factories.ChannelFactory(tenant=acme), factories.TeamFactory(tenant=acme)
    client = api(admin)

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            assert admin_client.get("/settings/members/").status_code == 200
        with CaptureQueriesContext(connection) as listed:
            assert client.get("/api/v1/members").status_code == 200
        return len(page), len(listed)

    def add(count: int) -> None:
        for _ in range(count):
            added = member(acme, Role.AGENT, channels=(channel,))
            team.members.add(added.user)

    add(2)
    few = counts()
    add(15)
    assert counts() == few


def test_a_member_is_removed_for_good_on_the_page_and_through_the_api(acme: Any, globex: Any, admin: Membership,
                                                                      admin_client: Client, member: Any, api: Any,
                                                                      django_capture_on_commit_callbacks: Any) -> None:
    """Removed: the session and the JWT end, the open conversations go back to the queue, the
    teams are left; the last administrator is never removed; another tenant's member is a 404."""
    agent = member(acme, Role.AGENT, full_name="Beto Agente")
    other = member(acme, Role.VIEWER)
    outsider = member(globex, Role.AGENT)
    team = factories.TeamFactory(tenant=acme)
    team.members.add(agent.user)
    conversation = factories.ConversationFactory(tenant=acme, assignee=agent.user)
    agent_client, agent_api = login(agent.user.email)[0], api(agent)

    with django_capture_on_commit_callbacks(execute=True):
        removed = admin_client.post(f"/settings/members/{agent.user.public_id}/remove/", follow=True)

    assert removed.status_code == 200 and "Beto Agente foi removido da conta." in removed.content.decode()
    assert not Membership.all_objects.filter(pk=agent.pk).exists()
    assert agent_client.get("/inbox/").status_code == 302
    assert agent_api.get("/api/v1/conversations").status_code == 401
    conversation.refresh_from_db()
    assert conversation.assignee is None and not team.members.filter(pk=agent.user.pk).exists()
    assert AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.MEMBER_REMOVED,
                                         target_id=str(agent.user.public_id)).exists()

    admin_api = api(admin)
    assert admin_api.delete(f"/api/v1/members/{other.user.public_id}").status_code == 204
    assert admin_api.delete(f"/api/v1/members/{outsider.user.public_id}").status_code == 404
    last = admin_api.delete(f"/api/v1/members/{admin.user.public_id}")
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_administrator"
    refused_page = admin_client.post(f"/settings/members/{admin.user.public_id}/remove/", follow=True)
    assert Membership.all_objects.filter(pk=admin.pk).exists() and refused_page.status_code == 200
    assert api(member(acme, Role.MANAGER)).delete(f"/api/v1/members/{outsider.user.public_id}").status_code == 403
