"""Tenant API keys: made by administrators and shown once, stored as a digest, accepted as
`Authorization: Bearer` or `X-API-Key`, limited by scope and channels, refused at once when
revoked or expired, and never a way into another tenant."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.access import TenantAccess
from accounts.api_keys import api_key_digest
from accounts.models import ApiKey, AuditEntry, Role
from accounts.services import tokens_issue
from contacts.models import Contact
from conversations.models import Conversation, Message
from tenants.models import Tenant
from tests import factories
from tests.accounts.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def side(acme: Any, member: Any) -> SimpleNamespace:
    """acme with two channels, a contact and a conversation on each, and an administrator."""
    whatsapp = factories.ChannelFactory(tenant=acme, name="Acme WhatsApp")
    email = factories.ChannelFactory(tenant=acme, name="Acme Email", kind="email")
    maria = factories.ContactFactory(tenant=acme, name="Maria Silva", email="maria@acme.test")
    joao = factories.ContactFactory(tenant=acme, name="Joao Souza", email="joao@acme.test")
    on_whatsapp = factories.ConversationFactory(tenant=acme, channel=whatsapp, contact=maria)
    on_email = factories.ConversationFactory(tenant=acme, channel=email, contact=joao)
    factories.MessageFactory(conversation=on_whatsapp, content="pedido atrasado")
    factories.MessageFactory(conversation=on_email, content="pedido cancelado")
    admin = member(acme, Role.TENANT_ADMIN, email="admin@acme.test", full_name="Ana Admin")
    return SimpleNamespace(tenant=acme, whatsapp=whatsapp, email=email, maria=maria, joao=joao,
                           on_whatsapp=on_whatsapp, on_email=on_email, admin=admin)


def _admin_api(membership: Any) -> APIClient:
    """An administrator's client, with an access JWT (keys are managed in person, never with a key)."""
    client = APIClient()
    tokens = tokens_issue(access=TenantAccess(user=membership.user, tenant=membership.tenant, role=membership.role))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


def _make_key(membership: Any, **body: Any) -> dict[str, Any]:
    response = _admin_api(membership).post("/api/v1/api-keys", {"name": "CRM", "scope": "read", **body},
                                           format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _header(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


def test_a_key_is_shown_once_and_only_its_digest_is_stored(side: Any) -> None:
    made = _make_key(side.admin, name="CRM sync", scope="read_write")

    key = made["key"]
    assert key.startswith("ik_live_") and len(key) == 56
    assert made["prefix"] == key[:16] and made["status"] == "active" and made["scope"] == "read_write"
    stored = ApiKey.all_objects.get(public_id=made["id"])
    assert stored.key_digest == api_key_digest(key)
    with connection.cursor() as cursor:  # the key itself is in no column of any row
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table}")
        assert not any(key in str(value) for row in cursor.fetchall() for value in row)
    listed = _admin_api(side.admin).get("/api/v1/api-keys").json()["results"]
    assert [row["id"] for row in listed] == [made["id"]] and "key" not in listed[0]
    assert "key" not in _admin_api(side.admin).get(f"/api/v1/api-keys/{made['id']}").json()


def test_both_header_forms_authenticate(side: Any) -> None:
    key = _make_key(side.admin)["key"]

    for client in (_bearer(key), _header(key)):
        response = client.get("/api/v1/conversations")
        assert response.status_code == 200, response.content
        assert {row["id"] for row in response.json()["results"]} == {str(side.on_whatsapp.public_id),
                                                                       str(side.on_email.public_id)}


def test_a_read_key_is_refused_writes_and_a_read_write_key_makes_them(side: Any) -> None:
    read = _bearer(_make_key(side.admin, scope="read")["key"])
    write = _bearer(_make_key(side.admin, name="Bot", scope="read_write")["key"])
    url = f"/api/v1/conversations/{side.on_whatsapp.public_id}/messages"
    before = Message.all_objects.count()

    refused = [read.post(url, {"content": "oi"}, format="json"), read.post("/api/v1/contacts", {"name": "Nova"},
                                                                            format="json"),
               read.patch(f"/api/v1/conversations/{side.on_whatsapp.public_id}", {"status": "RESOLVED"},
                          format="json")]
    for response in refused:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
        assert "API key (read)" in response.json()["error"]["message"]
    assert Message.all_objects.count() == before and not Contact.all_objects.filter(name="Nova").exists()

    sent = write.post(url, {"content": "Olá, pelo sistema"}, format="json")
    made = write.post("/api/v1/contacts", {"name": "Nova"}, format="json")
    assert sent.status_code == 201, sent.content
    assert made.status_code == 201, made.content
    # It acts as the administrator who made it.
    assert Message.all_objects.get(public_id=sent.json()["id"]).sender_user_id == side.admin.user_id


def test_no_key_manages_members_keys_settings_or_the_audit_log(side: Any) -> None:
    client = _bearer(_make_key(side.admin, scope="read_write")["key"])

    for response in (client.get("/api/v1/api-keys"),
                     client.post("/api/v1/api-keys", {"name": "x", "scope": "read"}, format="json"),
                     client.get("/api/v1/members"), client.get("/api/v1/audit"),
                     client.post("/api/v1/labels", {"name": "vip", "color": "#000000"}, format="json")):
        assert response.status_code == 403, response.content
    assert ApiKey.all_objects.count() == 1


def test_a_key_limited_to_a_channel_sees_only_that_channel(side: Any) -> None:
    client = _header(_make_key(side.admin, channel_ids=[str(side.whatsapp.public_id)])["key"])

    conversations = client.get("/api/v1/conversations").json()["results"]
    channels = client.get("/api/v1/channels").json()
    contacts = client.get("/api/v1/contacts").json()["results"]
    searched = client.get("/api/v1/conversations", {"q": "pedido"}).json()["results"]
    searched_contacts = client.get("/api/v1/contacts", {"q": "joao"}).json()["results"]

    assert [row["id"] for row in conversations] == [str(side.on_whatsapp.public_id)]
    assert [row["id"] for row in channels] == [str(side.whatsapp.public_id)]
    assert [row["id"] for row in contacts] == [str(side.maria.public_id)]
    assert [row["id"] for row in searched] == [str(side.on_whatsapp.public_id)]
    assert searched_contacts == []
    for hidden in (f"/api/v1/conversations/{side.on_email.public_id}",
                   f"/api/v1/conversations/{side.on_email.public_id}/messages",
                   f"/api/v1/contacts/{side.joao.public_id}", f"/api/v1/channels/{side.email.public_id}"):
        assert client.get(hidden).status_code == 404, hidden


def test_a_key_limited_to_another_tenants_channel_is_refused(side: Any, globex: Any) -> None:
    foreign = factories.ChannelFactory(tenant=globex, name="Globex WhatsApp")

    response = _admin_api(side.admin).post("/api/v1/api-keys", {"name": "x", "scope": "read",
                                                                "channel_ids": [str(foreign.public_id)]},
                                           format="json")

    assert response.status_code in (400, 422), response.content
    assert not ApiKey.all_objects.exists()


def test_revoked_expired_and_unknown_keys_are_401_at_once(side: Any) -> None:
    made = _make_key(side.admin)
    key = made["key"]
    client = _bearer(key)
    assert client.get("/api/v1/conversations").status_code == 200

    revoked = _admin_api(side.admin).delete(f"/api/v1/api-keys/{made['id']}")
    after = client.get("/api/v1/conversations")
    assert revoked.status_code == 204
    assert after.status_code == 401 and after.json()["error"]["code"] == "api_key_revoked"
    assert after["WWW-Authenticate"].startswith("Bearer")

    expiring = _make_key(side.admin, name="Short", expires_in_days=30)
    ApiKey.all_objects.filter(public_id=expiring["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = _header(expiring["key"]).get("/api/v1/conversations")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "api_key_expired"

    unknown = key[:16] + "x" * 40
    for response in (_bearer(unknown).get("/api/v1/conversations"), _header("ik_live_nope").get("/api/v1/contacts"),
                     _header("not-a-key").get("/api/v1/contacts")):
        assert response.status_code == 401, response.content
        assert response.json()["error"]["code"] == "api_key_invalid"


def test_a_key_stops_when_its_maker_no_longer_administers_the_account(side: Any) -> None:
    client = _bearer(_make_key(side.admin)["key"])
    side.admin.role = Role.AGENT
    side.admin.save(update_fields=["role"])

    response = client.get("/api/v1/conversations")

    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_creator_inactive"


def test_a_paused_tenant_refuses_its_keys(side: Any) -> None:
    client = _bearer(_make_key(side.admin)["key"])
    Tenant.objects.filter(pk=side.tenant.pk).update(status=Tenant.Status.SUSPENDED)

    response = client.get("/api/v1/conversations")

    assert response.status_code == 403 and response.json()["error"]["code"] == "tenant_suspended"


def test_last_used_is_written_at_most_once_a_minute(side: Any) -> None:
    made = _make_key(side.admin)
    client = _bearer(made["key"])
    assert ApiKey.all_objects.get(public_id=made["id"]).last_used_at is None

    client.get("/api/v1/conversations")
    first = ApiKey.all_objects.get(public_id=made["id"]).last_used_at
    client.get("/api/v1/conversations")
    assert ApiKey.all_objects.get(public_id=made["id"]).last_used_at == first
    ApiKey.all_objects.filter(public_id=made["id"]).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    client.get("/api/v1/conversations")

    assert first is not None
    assert ApiKey.all_objects.get(public_id=made["id"]).last_used_at >= first


def test_a_key_has_its_own_rate_limit_as_a_member_does(side: Any, settings: Any) -> None:
    key_client = _bearer(_make_key(side.admin)["key"])
    other_key = _header(_make_key(side.admin, name="Other")["key"])  # the maker has made 2 requests
    settings.API_RATE_LIMIT_DEFAULT = 3

    statuses = [key_client.get("/api/v1/contacts").status_code for _ in range(4)]
    limited = key_client.get("/api/v1/contacts")

    assert statuses == [200, 200, 200, 429]
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited["Retry-After"]) >= 1
    assert other_key.get("/api/v1/contacts").status_code == 200  # per key
    assert _admin_api(side.admin).get("/api/v1/contacts").status_code == 200  # not its maker's count


def test_keys_are_audited_when_made_and_revoked_not_per_request(side: Any) -> None:
    made = _make_key(side.admin, name="CRM")
    client = _bearer(made["key"])
    client.get("/api/v1/conversations")
    client.get("/api/v1/contacts")
    _admin_api(side.admin).delete(f"/api/v1/api-keys/{made['id']}")

    entries = list(AuditEntry.all_objects.filter(tenant=side.tenant).order_by("id").values_list(
        "action", "actor_id", "target_id"))
    assert entries == [("api_key.created", side.admin.user_id, made["id"]),
                       ("api_key.revoked", side.admin.user_id, made["id"])]


def test_another_tenants_key_never_sees_this_tenant(side: Any, globex: Any, member: Any) -> None:
    other_admin = member(globex, Role.TENANT_ADMIN)
    foreign = _bearer(_make_key(other_admin, scope="read_write")["key"])
    acme_key = _make_key(side.admin)

    assert foreign.get("/api/v1/conversations").json()["results"] == []
    assert foreign.get("/api/v1/contacts").json()["results"] == []
    for path in (f"/api/v1/conversations/{side.on_whatsapp.public_id}", f"/api/v1/contacts/{side.maria.public_id}",
                 f"/api/v1/channels/{side.whatsapp.public_id}"):
        assert foreign.get(path).status_code == 404
    assert foreign.patch(f"/api/v1/conversations/{side.on_whatsapp.public_id}", {"status": "RESOLVED"},
                         format="json").status_code == 404
    assert _admin_api(other_admin).delete(f"/api/v1/api-keys/{acme_key['id']}").status_code == 404
    assert Conversation.all_objects.get(pk=side.on_whatsapp.pk).status == Conversation.Status.OPEN
    assert ApiKey.all_objects.get(public_id=acme_key["id"]).revoked_at is None


def test_only_administrators_manage_keys_through_the_api(side: Any, member: Any) -> None:
    manager = member(side.tenant, Role.MANAGER)

    assert _admin_api(manager).get("/api/v1/api-keys").status_code == 403
    assert _admin_api(manager).post("/api/v1/api-keys", {"name": "x", "scope": "read"},
                                    format="json").status_code == 403
    assert not ApiKey.all_objects.exists()


# --- The settings page ---------------------------------------------------------------------


def test_an_administrator_makes_a_key_on_the_page_sees_it_once_and_revokes_it(side: Any) -> None:
    client: Client = login(side.admin.user.email)[0]

    page = client.get("/settings/api-keys/")
    made = client.post("/settings/api-keys/", {"name": "ERP", "scope": "read_write", "expires_in_days": "90",
                                                "channels": [str(side.whatsapp.public_id)]})

    assert page.status_code == 200 and "Ainda não há chaves de API".encode() in page.content  # pt-BR first
    assert made.status_code == 200
    api_key = ApiKey.all_objects.get(name="ERP")
    key = made.context["created"].key
    assert key.encode() in made.content and api_key.key_digest == api_key_digest(key)
    assert api_key.channel_ids == [str(side.whatsapp.public_id)] and api_key.scope == "read_write"
    assert dt.timedelta(days=89) < api_key.expires_at - timezone.now() <= dt.timedelta(days=90)
    listed = client.get("/settings/api-keys/")
    assert key.encode() not in listed.content and api_key.prefix.encode() in listed.content
    assert b"Acme WhatsApp" in listed.content
    assert _bearer(key).get("/api/v1/conversations").status_code == 200

    revoked = client.post(f"/settings/api-keys/{api_key.public_id}/revoke/", follow=True)

    assert revoked.status_code == 200
    assert ApiKey.all_objects.get(pk=api_key.pk).revoked_at is not None
    assert _bearer(key).get("/api/v1/conversations").status_code == 401


def test_agents_and_managers_are_refused_the_page(side: Any, member: Any) -> None:
    api_key = ApiKey.all_objects.get(public_id=_make_key(side.admin)["id"])
    for role in (Role.AGENT, Role.MANAGER):
        someone = member(side.tenant, role)
        client: Client = login(someone.user.email)[0]

        assert client.get("/settings/api-keys/").status_code == 403
        assert client.post("/settings/api-keys/", {"name": "x", "scope": "read"}).status_code == 403
        assert client.post(f"/settings/api-keys/{api_key.public_id}/revoke/").status_code == 403
    assert ApiKey.all_objects.count() == 1 and ApiKey.all_objects.get().revoked_at is None


def test_another_tenants_key_cannot_be_revoked_on_the_page(side: Any, globex: Any, member: Any) -> None:
    other_admin = member(globex, Role.TENANT_ADMIN)
    foreign = ApiKey.all_objects.get(public_id=_make_key(other_admin)["id"])
    client: Client = login(side.admin.user.email)[0]

    assert client.post(f"/settings/api-keys/{foreign.public_id}/revoke/").status_code == 404
    assert ApiKey.all_objects.get(pk=foreign.pk).revoked_at is None


def test_a_key_limited_to_channels_neither_exports_contacts_nor_reads_its_makers_export(side: Any) -> None:
    admin = _admin_api(side.admin)
    made = admin.post("/api/v1/contacts/exports", {}, format="json")
    assert made.status_code in (201, 202), made.content
    client = _bearer(_make_key(side.admin, channel_ids=[str(side.whatsapp.public_id)])["key"])

    refused = client.post("/api/v1/contacts/exports", {}, format="json")
    detail = client.get(f"/api/v1/contacts/exports/{made.json()['id']}")

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "api_key_channels_export"
    assert detail.status_code == 404


@pytest.mark.parametrize("body", [{"name": 0, "scope": "read"}, {"name": "x", "scope": "read", "expires_in_days": "30"},
                                  {"name": "x", "scope": "admin"}, {"name": "  ", "scope": "read"},
                                  {"name": "x", "scope": "read", "expires_in_days": 0},
                                  {"name": "x", "scope": "read", "expires_in_days": 1.5}])
def test_a_key_of_the_wrong_shape_is_refused(side: Any, body: dict[str, Any]) -> None:
    response = _admin_api(side.admin).post("/api/v1/api-keys", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert not ApiKey.all_objects.exists()


def test_an_expiry_written_as_a_whole_float_is_an_integer(side: Any) -> None:
    made = _make_key(side.admin, expires_in_days=30.0)  # JSON Schema's integer

    assert made["expires_at"] is not None
