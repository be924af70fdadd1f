"""Invitations: sent from the Members page through a real SMTP server (the link read from the
mail received), accepted once (a name and a password, or an existing account's password), and
refused when expired, used or revoked; resent and revoked; counted against the plan's seats;
through the page and the API, audited in the tenant's log only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.authentication import SESSION_TENANT_KEY
from accounts.invitations import invitation_create, invitation_revoke
from accounts.models import AuditAction, AuditEntry, Invitation, Membership, Role, User
from config.errors import PermissionDeniedError, ValidationFailed
from tests import factories
from tests.accounts.conftest import Mailbox, login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Caju-Azul-Marte-27"


@pytest.fixture
def admin(acme: Any, member: Any) -> Membership:
    return member(acme, Role.TENANT_ADMIN, email="admin@acme.test", full_name="Ana Admin")


@pytest.fixture
def admin_client(admin: Membership) -> Client:
    client, answer = login(admin.user.email)
    assert answer.status_code == 302
    return client


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """committed(callable, ...) → its result, with what it queued on commit run (the mail, the
    listeners), as after a real request."""

    def run(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def _invite(client: Client, committed: Any, follow: bool = False, **fields: Any) -> Any:
    data = {"email": "bia@example.test", "role": Role.AGENT, **fields}
    return committed(client.post, "/settings/members/invite/", data, follow=follow)


def _accept(committed: Any, link: str, client: Client | None = None, **fields: Any) -> Any:
    client = client or Client()
    data = {"full_name": "Bia Nova", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, **fields}
    return client, committed(client.post, link, data)


def test_invitation_round_trip_through_a_real_smtp_server(
        acme: Any, admin: Membership, admin_client: Client, smtp_server: Mailbox, settings: Any, committed: Any,
) -> None:
    settings.PUBLIC_BASE_URL = "https://inbox.example.com"
    support, sales = factories.ChannelFactory(tenant=acme, name="Suporte"), factories.ChannelFactory(tenant=acme)
    team = factories.TeamFactory(tenant=acme, name="Atendimento")

    sent = _invite(admin_client, committed, channels=[str(support.public_id)], teams=[str(team.public_id)])

    assert sent.status_code == 302 and sent["Location"] == "/settings/members/"
    mail = smtp_server.messages[0]
    assert mail["To"] == "bia@example.test" and "Acme" in mail["Subject"]
    link = smtp_server.link(settings.PUBLIC_BASE_URL)
    assert link.startswith("/invitations/")
    assert not Invitation.all_objects.filter(token_digest__contains=link.split("/")[2]).exists()  # only a digest kept

    page = Client().get(link)
    assert page.status_code == 200 and b'name="new_password1"' in page.content and b"Acme" in page.content
    client, accepted = _accept(committed, link)

    assert accepted.status_code == 302 and accepted["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200  # logged in, in Acme
    user = User.objects.get(email="bia@example.test")
    assert user.full_name == "Bia Nova" and user.check_password(NEW_PASSWORD)
    membership = Membership.all_objects.get(tenant=acme, user=user)
    assert membership.role == Role.AGENT and membership.is_active
    assert user.has_perm("channels_app.work_channel", support) and not user.has_perm("channels_app.work_channel", sales)
    assert list(team.members.all()) == [user]
    invitation = Invitation.all_objects.get()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.accepted_by == user
    _client, again = login("bia@example.test", NEW_PASSWORD)
    assert again.status_code == 302 and again["Location"] == "/inbox/"
    actions = set(AuditEntry.all_objects.filter(tenant=acme).values_list("action", flat=True))
    assert {AuditAction.INVITATION_SENT, AuditAction.INVITATION_ACCEPTED, AuditAction.MEMBER_ADDED,
            AuditAction.CHANNEL_ACCESS_CHANGED} <= actions


def test_a_used_link_is_refused(admin_client: Client, smtp_server: Mailbox, settings: Any, committed: Any) -> None:
    _invite(admin_client, committed)
    link = smtp_server.link(settings.PUBLIC_BASE_URL)
    _accept(committed, link)

    reopened = Client().get(link)
    _client, reused = _accept(committed, link, new_password1="Outra-Senha-99", new_password2="Outra-Senha-99")

    assert reopened.status_code == 410 and b'data-refusal="invitation_used"' in reopened.content
    assert reused.status_code == 410
    assert User.objects.get(email="bia@example.test").check_password(NEW_PASSWORD)
    assert Membership.all_objects.filter(user__email="bia@example.test").count() == 1


def test_an_expired_link_is_refused(acme: Any, admin: Membership, smtp_server: Mailbox, settings: Any,
                                    committed: Any) -> None:
    settings.INVITATION_DAYS = 7
    invitation = committed(invitation_create, tenant=acme, actor=admin.user, email="bia@example.test", role=Role.AGENT)
    assert invitation.expires_at - timezone.now() > dt.timedelta(days=6, hours=23)
    Invitation.all_objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    link = smtp_server.link(settings.PUBLIC_BASE_URL)

    opened = Client().get(link)
    _client, accepted = _accept(committed, link)

    assert opened.status_code == 410 and b'data-refusal="invitation_expired"' in opened.content
    assert accepted.status_code == 410
    assert not User.objects.filter(email="bia@example.test").exists()


def test_a_revoked_link_is_refused_and_frees_its_seat(acme: Any, admin: Membership, admin_client: Client,
                                                      smtp_server: Mailbox, settings: Any, committed: Any) -> None:
    _invite(admin_client, committed)
    link = smtp_server.link(settings.PUBLIC_BASE_URL)
    invitation = Invitation.all_objects.get()

    revoked = admin_client.post(f"/settings/invitations/{invitation.public_id}/revoke/")

    assert revoked.status_code == 302
    opened = Client().get(link)
    assert opened.status_code == 410 and b'data-refusal="invitation_revoked"' in opened.content
    assert not User.objects.filter(email="bia@example.test").exists()
    entry = AuditEntry.all_objects.get(tenant=acme, action=AuditAction.INVITATION_REVOKED)
    assert entry.actor == admin.user and entry.target_id == str(invitation.public_id)


def test_resending_mails_a_new_link_and_the_old_one_stops_working(
        acme: Any, admin_client: Client, smtp_server: Mailbox, settings: Any, committed: Any) -> None:
    _invite(admin_client, committed)
    first = smtp_server.link(settings.PUBLIC_BASE_URL)
    invitation = Invitation.all_objects.get()
    Invitation.all_objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))

    resent = committed(admin_client.post, f"/settings/invitations/{invitation.public_id}/resend/")

    assert resent.status_code == 302 and len(smtp_server.messages) == 2
    second = smtp_server.link(settings.PUBLIC_BASE_URL)
    assert second != first
    assert Client().get(first).status_code == 410
    _client, accepted = _accept(committed, second)
    assert accepted.status_code == 302
    assert AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.INVITATION_RESENT).count() == 1


def test_an_address_with_an_account_elsewhere_logs_in_and_gets_a_membership(
        acme: Any, globex: Any, member: Any, admin_client: Client, smtp_server: Mailbox, settings: Any,
        committed: Any) -> None:
    elsewhere = member(globex, Role.TENANT_ADMIN, email="bia@example.test", full_name="Bia de Globex")
    _invite(admin_client, committed, role=Role.VIEWER)
    link = smtp_server.link(settings.PUBLIC_BASE_URL)

    page = Client().get(link)
    assert page.status_code == 200 and b'name="password"' in page.content and b"new_password1" not in page.content
    client = Client()
    wrong = committed(client.post, link, {"password": "not-it"})
    assert wrong.status_code == 401 and "Essa senha não está certa." in wrong.content.decode()
    assert not Membership.all_objects.filter(tenant=acme, user=elsewhere.user).exists()

    joined = committed(client.post, link, {"password": PASSWORD})

    assert joined.status_code == 302 and joined["Location"] == "/inbox/"
    membership = Membership.all_objects.get(tenant=acme, user=elsewhere.user)
    assert membership.role == Role.VIEWER
    assert Membership.all_objects.get(tenant=globex, user=elsewhere.user).role == Role.TENANT_ADMIN
    elsewhere.user.refresh_from_db()
    assert elsewhere.user.full_name == "Bia de Globex" and elsewhere.user.check_password(PASSWORD)
    assert client.get("/inbox/").status_code == 200
    assert client.session[SESSION_TENANT_KEY] == acme.pk  # working in the tenant that invited them


def test_the_new_password_must_pass_the_validators(admin_client: Client, smtp_server: Mailbox, settings: Any,
                                                   committed: Any) -> None:
    _invite(admin_client, committed)
    link = smtp_server.link(settings.PUBLIC_BASE_URL)

    _client, weak = _accept(committed, link, new_password1="123", new_password2="123")
    _client, nameless = _accept(committed, link, full_name="")

    assert weak.status_code == 400 and nameless.status_code == 400
    assert not User.objects.filter(email="bia@example.test").exists()
    assert Invitation.all_objects.get().is_pending


def test_pending_invitations_take_seats_of_the_plan(acme: Any, admin: Membership, admin_client: Client,
                                                    api: Any, smtp_server: Mailbox, committed: Any) -> None:
    acme.max_agents = 2
    acme.save()
    _invite(admin_client, committed, email="one@example.test")

    refused = _invite(admin_client, committed, email="two@example.test", follow=True)
    by_api = api(admin).post("/api/v1/invitations", {"email": "two@example.test", "role": Role.MANAGER},
                             format="json")
    viewer = _invite(admin_client, committed, email="viewer@example.test", role=Role.VIEWER)

    told = [str(message) for message in refused.context["messages"] if message.level_tag == "error"]
    assert len(told) == 1 and "convites pendentes" in told[0]  # the pending invitation named, in pt-BR
    assert b"two@example.test" not in refused.content
    assert by_api.status_code == 403 and by_api.json()["error"]["code"] == "plan_limit_exceeded"
    assert by_api.json()["error"]["details"] == {"resource": "agents", "limit": 2, "usage": 2, "members": 1,
                                                 "invitations": 1}
    assert viewer.status_code == 302  # viewers take no seat
    assert set(Invitation.all_objects.values_list("email", flat=True)) == {"one@example.test", "viewer@example.test"}
    invitation_revoke(invitation=Invitation.all_objects.get(email="one@example.test"), actor=admin.user)
    assert api(admin).post("/api/v1/invitations", {"email": "two@example.test", "role": Role.AGENT},
                           format="json").status_code == 201


def test_nobody_invites_to_a_role_above_their_own(acme: Any, member: Any) -> None:
    manager = member(acme, Role.MANAGER)

    with pytest.raises(PermissionDeniedError):
        invitation_create(tenant=acme, actor=manager.user, email="x@example.test", role=Role.TENANT_ADMIN)
    with pytest.raises(ValidationFailed):
        invitation_create(tenant=acme, actor=manager.user, email="x@example.test", role=Role.SUPER_ADMIN)
    assert not Invitation.all_objects.exists()


def test_invitations_api(acme: Any, globex: Any, admin: Membership, member: Any, api: Any, smtp_server: Mailbox,
                         settings: Any, committed: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme)
    foreign_channel = factories.ChannelFactory(tenant=globex)
    client = api(admin)

    created = committed(client.post, "/api/v1/invitations",
                        {"email": "Bia@Example.test", "role": Role.AGENT, "channel_ids": [str(channel.public_id)]},
                        format="json")
    foreign = client.post("/api/v1/invitations", {"email": "c@example.test", "role": Role.AGENT,
                                                   "channel_ids": [str(foreign_channel.public_id)]}, format="json")
    twice = client.post("/api/v1/invitations", {"email": "bia@example.test", "role": Role.AGENT}, format="json")
    platform = client.post("/api/v1/invitations", {"email": "d@example.test", "role": Role.SUPER_ADMIN},
                           format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "bia@example.test" and body["status"] == "pending"
    assert body["channel_ids"] == [str(channel.public_id)] and "token" not in str(body)
    assert len(smtp_server.messages) == 1
    assert foreign.status_code == 422 and "channel_ids" in foreign.json()["error"]["details"]
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_invited"
    assert platform.status_code == 400
    listed = client.get("/api/v1/invitations?status=pending").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]
    resent = committed(client.post, f"/api/v1/invitations/{body['id']}/resend")
    assert resent.status_code == 200 and len(smtp_server.messages) == 2
    assert client.delete(f"/api/v1/invitations/{body['id']}").status_code == 204
    assert client.get("/api/v1/invitations?status=revoked").json()["results"][0]["id"] == body["id"]
    resend_revoked = client.post(f"/api/v1/invitations/{body['id']}/resend")
    assert resend_revoked.status_code == 409 and resend_revoked.json()["error"]["code"] == "invitation_revoked"

    manager, agent = member(acme, Role.MANAGER), member(acme, Role.AGENT)
    assert api(manager).get("/api/v1/invitations").status_code == 200
    assert api(manager).post("/api/v1/invitations", {"email": "e@example.test", "role": Role.AGENT},
                             format="json").status_code == 403
    assert api(agent).get("/api/v1/invitations").status_code == 403
    outsider = member(globex, Role.TENANT_ADMIN)
    assert api(outsider).delete(f"/api/v1/invitations/{body['id']}").status_code == 404
    assert api(outsider).get("/api/v1/invitations").json()["results"] == []
    globex_log = api(outsider).get("/api/v1/audit").json()["results"]
    assert not [entry for entry in globex_log if entry["action"].startswith("invitation.")]
    acme_log = {entry["action"] for entry in client.get("/api/v1/audit").json()["results"]}
    assert {"invitation.sent", "invitation.resent", "invitation.revoked"} <= acme_log


def test_members_are_not_invited_again(acme: Any, admin: Membership, member: Any, api: Any) -> None:
    from accounts.services import membership_deactivate

    active, gone = member(acme, Role.AGENT), member(acme, Role.AGENT)
    membership_deactivate(membership=gone, actor=admin.user)

    for existing in (active, gone):
        refused = api(admin).post("/api/v1/invitations", {"email": existing.user.email.upper(), "role": Role.AGENT},
                                  format="json")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_member"
    assert "reative" in api(admin).post("/api/v1/invitations", {"email": gone.user.email, "role": Role.AGENT},
                                        format="json", HTTP_ACCEPT_LANGUAGE="pt-br").json()["error"]["message"]
    assert not Invitation.all_objects.exists()
