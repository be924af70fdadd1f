"""The audit log: one entry for each audited action (actor, client address, target), never
changed, shown to the tenant's administrators only (page, CSV, API), never another tenant's,
and kept as long as the tenant says."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.audit import AuditTarget, audit_entries_purge, audit_record
from accounts.authentication import SESSION_TENANT_KEY
from accounts.models import AuditAction, AuditEntry, AuditEntryImmutable, Role
from accounts.services import membership_change_role, membership_create, membership_remove
from accounts.tasks import audit_entries_purge_task
from channels_app.services import channel_archive, channel_create, channel_update
from config.errors import ConflictError
from contacts.services import contact_delete
from integrations import pairing
from integrations.base import ConnectionUpdate
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"
AGENT = "Mozilla/5.0 (audit test)"


def _entries(tenant: Any, action: str | None = None) -> list[AuditEntry]:
    entries = AuditEntry.all_objects.filter(tenant=tenant).order_by("id")
    return list(entries.filter(action=action) if action else entries)


def _page(member: Any) -> Client:
    client = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)
    client.force_login(member.user)
    session = client.session
    session[SESSION_TENANT_KEY] = member.tenant_id
    session.save()
    return client


@pytest.fixture
def admin(acme: Any, member: Any) -> Any:
    return member(acme, Role.TENANT_ADMIN, full_name="Alice Admin", email="alice@acme.test")


# --- Each audited action ----------------------------------------------------------------


def test_an_inbox_login_is_recorded_with_the_address_and_agent(acme: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    client = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)

    assert client.post("/login/", {"email": agent.user.email, "password": PASSWORD}).status_code == 302

    [entry] = _entries(acme, AuditAction.LOGIN_SUCCEEDED)
    assert (entry.actor, entry.actor_label, entry.ip, entry.user_agent) == (agent.user, agent.user.email, IP, AGENT)
    assert entry.details == {"door": "inbox"}


def test_a_failed_login_is_recorded_under_every_tenant_of_the_account(acme: Any, globex: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    factories.MembershipFactory(tenant=globex, user=agent.user)

    Client(REMOTE_ADDR=IP).post("/login/", {"email": agent.user.email, "password": "wrong"})
    APIClient().post("/api/v1/auth/token", {"email": agent.user.email, "password": "wrong"}, format="json",
                     REMOTE_ADDR=IP)

    for tenant in (acme, globex):
        entries = _entries(tenant, AuditAction.LOGIN_FAILED)
        assert [entry.details["door"] for entry in entries] == ["inbox", "api"]
        assert all(entry.ip == IP and entry.actor == agent.user for entry in entries)


def test_a_failed_login_of_an_unknown_address_is_in_no_tenant(acme: Any) -> None:
    Client(REMOTE_ADDR=IP).post("/login/", {"email": "nobody@acme.test", "password": "wrong"})

    assert not AuditEntry.all_objects.exists()


def test_an_api_token_login_is_recorded_in_the_tenant_of_the_token(acme: Any, globex: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    factories.MembershipFactory(tenant=globex, user=agent.user)

    response = APIClient().post("/api/v1/auth/token", {"email": agent.user.email, "password": PASSWORD,
                                                       "tenant": "globex"}, format="json", REMOTE_ADDR=IP)

    assert response.status_code == 200
    assert [entry.details for entry in _entries(globex, AuditAction.LOGIN_SUCCEEDED)] == [{"door": "api"}]
    assert not _entries(acme, AuditAction.LOGIN_SUCCEEDED)


def test_membership_changes_are_recorded_with_the_actor_and_the_member(acme: Any, admin: Any) -> None:
    user = factories.UserFactory(email="bruno@acme.test")

    membership = membership_create(tenant=acme, user=user, role=Role.AGENT, actor=admin.user)
    membership_change_role(membership=membership, role=Role.MANAGER, actor=admin.user)
    membership_remove(membership=membership, actor=admin.user)

    entries = _entries(acme)
    assert [entry.action for entry in entries] == ["member.added", "member.role_changed", "member.removed"]
    assert all(entry.actor == admin.user and entry.target_label == "bruno@acme.test" for entry in entries)
    assert entries[1].details == {"from": "AGENT", "to": "MANAGER"}


def test_staff_deactivating_a_user_in_django_admin_is_recorded_in_its_tenants(acme: Any, member: Any) -> None:
    agent = member(acme, Role.AGENT)
    staff = factories.UserFactory(is_staff=True, is_superuser=True, email="staff@platform.test")
    client = Client(REMOTE_ADDR=IP)
    client.force_login(staff)
    form = {"email": agent.user.email, "full_name": agent.user.full_name, "language": "",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1", "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000", "memberships-0-id": str(agent.pk),
            "memberships-0-user": str(agent.user.pk), "memberships-0-role": Role.MANAGER}

    response = client.post(f"/admin/accounts/user/{agent.user.pk}/change/", form)  # is_active left out: off

    assert response.status_code == 302, response.content.decode()[:2000]
    actions = {entry.action: entry for entry in _entries(acme)}
    assert actions["member.deactivated"].actor == staff and actions["member.deactivated"].ip == IP
    assert actions["member.role_changed"].details == {"from": "AGENT", "to": "MANAGER"}


def test_channel_connect_credentials_and_delete_are_recorded_without_secrets(acme: Any, admin: Any) -> None:
    channel = channel_create(tenant=acme, actor=admin.user, kind="api", name="API", verify=False)
    channel_update(channel=channel, actor=admin.user, credentials={"token": "s3cret-value", "old": None})
    channel_archive(channel=channel, actor=admin.user)

    entries = _entries(acme)
    assert [entry.action for entry in entries] == ["channel.connected", "channel.credentials_changed",
                                                   "channel.deleted"]
    assert all(entry.target_id == str(channel.public_id) and entry.target_label == "API" for entry in entries)
    assert entries[1].details == {"replaced": ["token"], "removed": ["old"]}
    assert "s3cret-value" not in str([entry.details for entry in entries])


def test_disconnecting_a_paired_phone_is_recorded(acme: Any, admin: Any, monkeypatch: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_evolution", name="Vendas")
    fake = SimpleNamespace(disconnect=lambda: None,
                           pair=lambda phone="": ConnectionUpdate(status="QR_PENDING", qr_code="qr"))
    monkeypatch.setattr(pairing, "_adapter", lambda channel: fake)

    pairing.channel_pair(channel=channel, actor=admin.user)
    pairing.channel_disconnect(channel=channel, actor=admin.user)

    assert [(entry.action, entry.target_label, entry.actor) for entry in _entries(acme)] == [
        ("channel.connected", "Vendas", admin.user), ("channel.disconnected", "Vendas", admin.user)]


def test_deleting_a_contact_is_recorded_and_one_with_conversations_is_refused(acme: Any, admin: Any) -> None:
    contact = factories.ContactFactory(tenant=acme, name="Carla")
    busy = factories.ConversationFactory(tenant=acme).contact

    contact_delete(contact=contact, actor=admin.user)
    with pytest.raises(ConflictError):
        contact_delete(contact=busy, actor=admin.user)

    [entry] = _entries(acme, AuditAction.CONTACT_DELETED)
    assert (entry.target_type, entry.target_label, entry.actor) == ("contact", "Carla", admin.user)


def test_deleting_a_contact_through_the_api_is_recorded_with_the_address(acme: Any, admin: Any, api: Any) -> None:
    contact = factories.ContactFactory(tenant=acme, name="Carla")

    response = api(admin).delete(f"/api/v1/contacts/{contact.public_id}", REMOTE_ADDR=IP)

    assert response.status_code == 204
    [entry] = _entries(acme, AuditAction.CONTACT_DELETED)
    assert entry.ip == IP and entry.actor == admin.user


# --- Append-only ------------------------------------------------------------------------


def test_an_entry_refuses_to_change_or_be_deleted(acme: Any, admin: Any) -> None:
    entry = audit_record(tenant=acme, action=AuditAction.EXPORT_CREATED, actor=admin.user)
    stored = AuditEntry.all_objects.get(pk=entry.pk)

    stored.action = "login.succeeded"
    with pytest.raises(AuditEntryImmutable):
        stored.save()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.all_objects.filter(pk=entry.pk).update(action="login.succeeded")
    with pytest.raises(AuditEntryImmutable):
        stored.delete()

    assert AuditEntry.all_objects.get(pk=entry.pk).action == "export.created"


def test_a_deleted_user_is_still_named_in_their_entries(acme: Any, admin: Any) -> None:
    audit_record(tenant=acme, action=AuditAction.EXPORT_CREATED, actor=admin.user)

    admin.user.delete()

    [entry] = _entries(acme)
    assert entry.actor is None and entry.actor_label == "alice@acme.test"


# --- The settings page, the CSV and the API: administrators only, their tenant only -------


@pytest.fixture
def two_logs(acme: Any, globex: Any, admin: Any, member: Any) -> dict[str, Any]:
    outsider = member(globex, Role.TENANT_ADMIN, email="olga@globex.test")
    audit_record(tenant=acme, action=AuditAction.CHANNEL_DELETED, actor=admin.user,
                 target=AuditTarget("channel", "c1", "Acme channel"))
    audit_record(tenant=globex, action=AuditAction.CHANNEL_DELETED, actor=outsider.user,
                 target=AuditTarget("channel", "c2", "Globex secret channel"))
    return {"admin": admin, "outsider": outsider}


def test_the_page_shows_the_tenants_entries_only(two_logs: Any) -> None:
    page = _page(two_logs["admin"]).get("/settings/audit/")

    shown = page.content.decode()
    assert page.status_code == 200
    assert "Acme channel" in shown and "Globex secret channel" not in shown and "olga@globex.test" not in shown


def test_the_page_filters_by_actor_action_and_dates(acme: Any, admin: Any, member: Any) -> None:
    other = member(acme, Role.MANAGER, email="marcos@acme.test")
    audit_record(tenant=acme, action=AuditAction.CHANNEL_DELETED, actor=admin.user,
                 target=AuditTarget("channel", "c1", "Deleted by Alice"))
    audit_record(tenant=acme, action=AuditAction.CONTACT_DELETED, actor=other.user,
                 target=AuditTarget("contact", "k1", "Deleted by Marcos"))
    client = _page(admin)

    by_actor = client.get("/settings/audit/", {"actor": str(other.user.public_id)}).content.decode()
    by_action = client.get("/settings/audit/", {"action": "channel.deleted"}).content.decode()
    today = timezone.localdate().isoformat()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    in_range = client.get("/settings/audit/", {"since": today, "until": today}).content.decode()
    later = client.get("/settings/audit/", {"since": tomorrow}).content.decode()

    assert "Deleted by Marcos" in by_actor and "Deleted by Alice" not in by_actor
    assert "Deleted by Alice" in by_action and "Deleted by Marcos" not in by_action
    assert "Deleted by Alice" in in_range and "Deleted by Marcos" in in_range
    assert "Deleted by" not in later


def test_the_page_says_when_there_is_nothing_and_pages_long_logs(acme: Any, admin: Any) -> None:
    client = _page(admin)
    AuditEntry.all_objects.filter(tenant=acme)._raw_delete(using="default")  # the login of _page
    assert "Nada registrado ainda." in client.get("/settings/audit/").content.decode()
    assert "Nada corresponde a estes filtros." in client.get("/settings/audit/?action=login.failed").content.decode()

    for number in range(60):
        audit_record(tenant=acme, action=AuditAction.EXPORT_CREATED, actor=admin.user,
                     target=AuditTarget("audit_log", "", f"export {number}"))
    first, second = client.get("/settings/audit/").content.decode(), client.get("/settings/audit/?page=2")
    assert "export 59" in first and "<td>export 9 " not in first and 'rel="next"' in first
    assert "<td>export 9 " in second.content.decode()


def test_an_agent_or_a_manager_is_refused_the_page_the_csv_and_the_api(acme: Any, member: Any, api: Any) -> None:
    for role in (Role.AGENT, Role.MANAGER):
        someone = member(acme, role)
        client = _page(someone)
        assert client.get("/settings/audit/").status_code == 403
        assert client.get("/settings/audit/export.csv").status_code == 403
        assert client.post("/settings/audit/retention/", {"days": 30}).status_code == 403
        assert api(someone).get("/api/v1/audit").status_code == 403
    assert not AuditEntry.all_objects.filter(action=AuditAction.EXPORT_CREATED).exists()
    acme.refresh_from_db()
    assert acme.audit_retention_days == 365


def test_the_csv_holds_the_filtered_entries_of_the_tenant_and_is_itself_audited(two_logs: Any, acme: Any) -> None:
    admin = two_logs["admin"]
    audit_record(tenant=acme, action=AuditAction.CONTACT_DELETED, actor=admin.user,
                 target=AuditTarget("contact", "k1", "=HYPERLINK(\"http://evil\")"))

    response = _page(admin).get("/settings/audit/export.csv", {"action": "contact.deleted"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["created_at", "actor", "action", "target_type", "target_id", "target", "ip",
                       "user_agent", "details"]
    assert [(row[1], row[2], row[5]) for row in rows[1:]] == [
        ("alice@acme.test", "contact.deleted", "'=HYPERLINK(\"http://evil\")")]
    [export] = _entries(acme, AuditAction.EXPORT_CREATED)
    assert export.actor == admin.user and export.ip == IP
    assert export.details == {"format": "csv", "filters": {"action": "contact.deleted"}}
    assert not _entries(two_logs["outsider"].tenant, AuditAction.EXPORT_CREATED)


def test_the_csv_of_all_entries_has_none_of_another_tenant(two_logs: Any) -> None:
    response = _page(two_logs["admin"]).get("/settings/audit/export.csv")

    content = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Acme channel" in content and "Globex" not in content and "olga@globex.test" not in content


def test_the_api_lists_the_tenants_entries_newest_first_with_filters(two_logs: Any, acme: Any, api: Any) -> None:
    admin = two_logs["admin"]
    audit_record(tenant=acme, action=AuditAction.CONTACT_DELETED, actor=admin.user,
                 target=AuditTarget("contact", "k1", "Carla"))
    client = api(admin)

    everything = client.get("/api/v1/audit").json()
    channel_family = client.get("/api/v1/audit", {"action": "channel."}).json()
    by_actor = client.get("/api/v1/audit", {"actor": str(two_logs["outsider"].user.public_id)}).json()
    future = client.get("/api/v1/audit", {"since": "2999-01-01T00:00:00Z"}).json()
    past = client.get("/api/v1/audit", {"until": "2000-01-01T00:00:00Z"}).json()

    assert [entry["action"] for entry in everything["results"]] == ["contact.deleted", "channel.deleted"]
    assert everything["results"][0]["target"] == {"type": "contact", "id": "k1", "label": "Carla"}
    assert everything["results"][0]["actor"] == str(admin.user.public_id)
    assert [entry["target"]["label"] for entry in channel_family["results"]] == ["Acme channel"]
    assert by_actor["results"] == [] and future["results"] == [] and past["results"] == []
    assert client.get("/api/v1/audit", {"since": "yesterday"}).status_code == 400


def test_the_api_has_no_way_to_change_an_entry(two_logs: Any, api: Any) -> None:
    client = api(two_logs["admin"])
    entry_id = AuditEntry.all_objects.filter(tenant=two_logs["admin"].tenant).get().public_id

    assert client.post("/api/v1/audit", {"action": "x"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/audit/{entry_id}").status_code in (404, 405)


def test_the_api_is_in_the_openapi_schema(client: Client) -> None:
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()

    assert '"/api/v1/audit"' in schema


# --- Retention --------------------------------------------------------------------------


def test_an_admin_sets_the_retention_within_30_to_3650_days_and_it_is_audited(acme: Any, admin: Any) -> None:
    client = _page(admin)

    client.post("/settings/audit/retention/", {"days": 29})
    client.post("/settings/audit/retention/", {"days": 3651})
    acme.refresh_from_db()
    assert acme.audit_retention_days == 365
    client.post("/settings/audit/retention/", {"days": 90})

    acme.refresh_from_db()
    assert acme.audit_retention_days == 90
    [entry] = _entries(acme, AuditAction.SETTINGS_CHANGED)
    assert entry.details == {"audit_retention_days": {"from": 365, "to": 90}} and entry.actor == admin.user


def test_the_retention_task_deletes_each_tenants_older_entries_and_says_how_many(
        acme: Any, globex: Any, admin: Any) -> None:
    globex.audit_retention_days = 30
    globex.save()
    now = timezone.now()
    for tenant in (acme, globex):
        for age in (10, 100, 400):
            entry = audit_record(tenant=tenant, action=AuditAction.EXPORT_CREATED, actor=None)
            _age(entry, now - dt.timedelta(days=age))

    assert audit_entries_purge_task() == 1 + 2
    assert audit_entries_purge(now=now) == {}
    assert len(_entries(acme)) == 2 and len(_entries(globex)) == 1


def _age(entry: AuditEntry, created_at: dt.datetime) -> None:
    """Backdate an entry as time would have (the model itself never changes one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET created_at = %s WHERE id = %s",
                       [created_at, entry.pk])


def test_the_retention_task_is_scheduled(settings: Any) -> None:
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "accounts.tasks.audit_entries_purge_task" in schedule
