"""Teams, labels and canned responses: their services, their settings pages and their API;
who may change them, tenant isolation, the audit log. And the plan's channel limit where a
channel is added."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditAction, AuditEntry, Membership, Role
from channels_app.models import Channel
from config.errors import ConflictError, ValidationFailed
from conversations.models import CannedResponse, Conversation, Label, Team
from conversations.services import (
    canned_response_create,
    canned_response_update,
    label_create,
    label_delete,
    label_update,
    team_create,
    team_delete,
    team_update,
)
from tenants.models import Tenant
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
XSS = "<img src=x onerror=alert(1)>"


def _login(member) -> Client:
    client = Client()
    response = client.post("/login/", {"email": member.user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def _audit(tenant, action) -> list[AuditEntry]:
    return list(AuditEntry.all_objects.filter(tenant=tenant, action=action).order_by("id"))


@pytest.fixture
def org(acme, globex, member):
    sales = factories.ChannelFactory(tenant=acme, name="WhatsApp Vendas")
    support = factories.ChannelFactory(tenant=acme, name="Email Suporte", kind="email")
    foreign_channel = factories.ChannelFactory(tenant=globex, name="Globex WhatsApp")
    return {
        "sales": sales, "support": support, "foreign_channel": foreign_channel,
        "admin": member(acme, Role.TENANT_ADMIN, full_name="Alice Admin", language="en"),
        "manager": member(acme, Role.MANAGER, full_name="Marcos Gerente"),
        "agent": member(acme, Role.AGENT, channels=(sales,), full_name="Ana Agente"),
        "viewer": member(acme, Role.VIEWER, channels=(sales,)),
        "outsider": member(globex, Role.AGENT, full_name="Otto Outsider"),
        "globex_admin": member(globex, Role.TENANT_ADMIN),
    }


# --- Services ---------------------------------------------------------------------------


def test_team_is_created_with_its_members_and_channels_and_audited(acme, org):
    team = team_create(tenant=acme, actor=org["admin"].user, name="  Vendas   Sul ",
                       members=[org["agent"].user, org["manager"].user], channels=[org["sales"]])

    assert team.name == "Vendas Sul"
    assert set(team.members.all()) == {org["agent"].user, org["manager"].user}
    assert list(team.channels.all()) == [org["sales"]]
    [entry] = _audit(acme, AuditAction.TEAM_CREATED)
    assert (entry.actor, entry.target_id, entry.target_label) == (org["admin"].user, str(team.public_id), "Vendas Sul")
    assert entry.details == {"members": 2, "channels": ["WhatsApp Vendas"]}


def test_a_team_takes_only_members_and_active_channels_of_its_own_account(acme, org):
    team = team_create(tenant=acme, actor=None, name="Suporte")
    archived = factories.ChannelFactory(tenant=acme, name="Old")
    Channel.all_objects.filter(pk=archived.pk).update(archived_at="2026-01-01T00:00:00Z")
    archived.refresh_from_db()

    with pytest.raises(ValidationFailed) as outsider:
        team_update(team=team, actor=None, members=[org["agent"].user, org["outsider"].user])
    with pytest.raises(ValidationFailed) as foreign:
        team_update(team=team, actor=None, channels=[org["foreign_channel"]])
    with pytest.raises(ValidationFailed):
        team_update(team=team, actor=None, channels=[archived])
    with pytest.raises(ValidationFailed):
        team_create(tenant=acme, actor=None, name="Outro", members=[org["outsider"].user])

    assert "member_ids" in outsider.value.details and "channel_ids" in foreign.value.details
    assert not team.members.exists() and not team.channels.exists()
    assert not Team.all_objects.filter(name="Outro").exists()
    assert not _audit(acme, AuditAction.TEAM_UPDATED)


def test_a_deactivated_member_cannot_join_a_team_nor_is_offered(acme, org):
    team = team_create(tenant=acme, actor=None, name="Suporte")
    Membership.all_objects.filter(pk=org["agent"].pk).update(is_active=False)

    with pytest.raises(ValidationFailed):
        team_update(team=team, actor=None, members=[org["agent"].user])
    page = _login(org["manager"]).get(f"/settings/teams/{team.public_id}/").content.decode()

    assert not team.members.exists()
    assert "Ana Agente" not in page and "Marcos Gerente" in page


def test_an_archived_channel_leaves_the_teams_that_worked_it(acme, org, api):
    team = team_create(tenant=acme, actor=None, name="Vendas", channels=[org["sales"], org["support"]])
    assert api(org["admin"]).delete(f"/api/v1/channels/{org['support'].public_id}").status_code == 204

    shown = api(org["admin"]).get(f"/api/v1/teams/{team.public_id}").json()
    page = _login(org["admin"]).get("/settings/teams/").content.decode()

    assert [channel["name"] for channel in shown["channels"]] == ["WhatsApp Vendas"]
    assert "Email Suporte" not in page


def test_team_names_are_unique_per_account_whatever_the_case(acme, globex, org):
    team_create(tenant=acme, actor=None, name="Vendas")
    other = team_create(tenant=acme, actor=None, name="Suporte")

    with pytest.raises(ConflictError) as duplicate:
        team_create(tenant=acme, actor=None, name="VENDAS")
    with pytest.raises(ConflictError):
        team_update(team=other, actor=None, name="vendas")
    team_create(tenant=globex, actor=None, name="Vendas")  # another account may use it

    assert duplicate.value.status_code == 409 and "name" in duplicate.value.details
    assert Team.all_objects.filter(tenant=acme).count() == 2
    assert Team.all_objects.get(pk=other.pk).name == "Suporte"


def test_deleting_a_team_keeps_its_conversations_without_team(acme, org):
    team = team_create(tenant=acme, actor=None, name="Vendas", channels=[org["sales"]])
    conversation = factories.ConversationFactory(tenant=acme, channel=org["sales"], team=team)

    team_delete(team=team, actor=org["manager"].user)

    assert not Team.all_objects.filter(name="Vendas").exists()
    assert Conversation.all_objects.get(pk=conversation.pk).team is None
    [entry] = _audit(acme, AuditAction.TEAM_DELETED)
    assert entry.target_label == "Vendas" and entry.details == {"conversations": 1}


def test_labels_are_renamed_recoloured_and_deleted_off_their_conversations(acme, org):
    label = label_create(tenant=acme, actor=None, name="vip", color="#2563EB")
    conversation = factories.ConversationFactory(tenant=acme, channel=org["sales"])
    conversation.labels.add(label)

    label_update(label=label, actor=org["admin"].user, name="VIP Gold", color="#16a34a")
    assert Label.all_objects.get(pk=label.pk).color == "#16a34a"
    assert [lb.name for lb in Conversation.all_objects.get(pk=conversation.pk).labels.all()] == ["VIP Gold"]
    label_delete(label=label, actor=org["admin"].user)

    assert not Conversation.all_objects.get(pk=conversation.pk).labels.exists()
    assert Conversation.all_objects.filter(pk=conversation.pk).exists()
    assert label.color == "#16a34a"
    assert _audit(acme, AuditAction.LABEL_CREATED)[0].details == {"color": "#2563eb"}
    assert _audit(acme, AuditAction.LABEL_UPDATED)[0].details == {
        "name": {"from": "vip", "to": "VIP Gold"}, "color": {"from": "#2563eb", "to": "#16a34a"}}
    assert _audit(acme, AuditAction.LABEL_DELETED)[0].details == {"conversations": 1}


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "#gggggg", "", "javascript:alert(1)"])
def test_a_label_colour_must_be_a_hex_colour(acme, colour):
    label = label_create(tenant=acme, actor=None, name="vip")

    with pytest.raises(ValidationFailed) as refused:
        label_create(tenant=acme, actor=None, name="other", color=colour)
    with pytest.raises(ValidationFailed):
        label_update(label=label, actor=None, color=colour)

    assert "color" in refused.value.details
    assert Label.all_objects.get(pk=label.pk).color == "#6b7280"


def test_short_codes_are_unique_per_account_and_kept_lowercase(acme, globex):
    first = canned_response_create(tenant=acme, actor=None, short_code="/Ola", content="Olá! Como posso ajudar?")
    second = canned_response_create(tenant=acme, actor=None, short_code="horario", content="Das 8h às 18h.")
    canned_response_create(tenant=globex, actor=None, short_code="ola", content="Hi")

    with pytest.raises(ConflictError) as duplicate:
        canned_response_create(tenant=acme, actor=None, short_code="OLA", content="x")
    with pytest.raises(ConflictError):
        canned_response_update(response=second, actor=None, short_code="ola")
    with pytest.raises(ValidationFailed):
        canned_response_create(tenant=acme, actor=None, short_code="com espaço", content="x")

    assert first.short_code == "ola"
    assert duplicate.value.status_code == 409 and list(duplicate.value.details) == ["short_code"]
    assert CannedResponse.all_objects.get(pk=second.pk).short_code == "horario"
    assert CannedResponse.all_objects.filter(tenant=acme).count() == 2


def test_each_change_publishes_its_event_for_the_tenants_sockets(acme, org, events,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        team = team_create(tenant=acme, actor=None, name="Vendas")
        team_update(team=team, actor=None, name="Vendas Sul", members=[org["agent"].user])
        team_update(team=team, actor=None, name="Vendas Sul")  # nothing changes: no event
        label = label_create(tenant=acme, actor=None, name="vip")
        label_update(label=label, actor=None, color="#dc2626")
        response = canned_response_create(tenant=acme, actor=None, short_code="ola", content="Olá!")
        canned_response_update(response=response, actor=None, content="Oi!")
        label_delete(label=label, actor=None)
        team_delete(team=team, actor=None)

    assert [(e.name, e.payload()) for e in events] == [
        ("team.created", {"team_id": str(team.public_id)}),
        ("team.updated", {"team_id": str(team.public_id), "changed": ("name", "members")}),
        ("label.created", {"label_id": str(label.public_id)}),
        ("label.updated", {"label_id": str(label.public_id), "changed": ("color",)}),
        ("canned_response.created", {"canned_response_id": str(response.public_id)}),
        ("canned_response.updated", {"canned_response_id": str(response.public_id), "changed": ("content",)}),
        ("label.deleted", {"label_id": str(label.public_id)}),
        ("team.deleted", {"team_id": str(team.public_id)}),
    ]
    assert {e.tenant_pk for e in events} == {acme.pk}


# --- Settings pages ---------------------------------------------------------------------


def test_a_manager_creates_a_team_then_sets_its_members_and_channels_and_deletes_it(acme, org):
    client = _login(org["manager"])

    created = client.post("/settings/teams/", {"name": "Vendas"})
    team = Team.all_objects.get(tenant=acme, name="Vendas")
    assert created.status_code == 302 and created["Location"] == f"/settings/teams/{team.public_id}/"
    edit = client.get(created["Location"]).content.decode()
    assert "Ana Agente" in edit and "WhatsApp Vendas" in edit and "Otto Outsider" not in edit
    assert "Globex WhatsApp" not in edit

    saved = client.post(created["Location"], {
        "name": "Vendas e Pós-venda", "members": [str(org["agent"].user.public_id)],
        "channels": [str(org["sales"].public_id), str(org["support"].public_id)]})
    assert saved.status_code == 302
    team.refresh_from_db()
    assert team.name == "Vendas e Pós-venda"
    assert list(team.members.all()) == [org["agent"].user]
    assert set(team.channels.all()) == {org["sales"], org["support"]}
    listing = client.get("/settings/teams/").content.decode()
    assert "Vendas e Pós-venda" in listing and "WhatsApp Vendas" in listing and "Email Suporte" in listing

    conversation = factories.ConversationFactory(tenant=acme, channel=org["sales"], team=team)
    deleted = client.post(f"/settings/teams/{team.public_id}/delete/")
    assert deleted.status_code == 302 and deleted["Location"] == "/settings/teams/"
    assert not Team.all_objects.filter(pk=team.pk).exists()
    assert Conversation.all_objects.get(pk=conversation.pk).team_id is None
    assert [e.action for e in AuditEntry.all_objects.filter(tenant=acme, target_type="team").order_by("id")] == [
        "team.created", "team.updated", "team.deleted"]


def test_the_team_form_refuses_a_foreign_member_and_a_taken_name(acme, org):
    team_create(tenant=acme, actor=None, name="Suporte")
    team = team_create(tenant=acme, actor=None, name="Vendas")
    client = _login(org["manager"])  # pt-BR: the account's language

    foreign = client.post(f"/settings/teams/{team.public_id}/", {
        "name": "Vendas", "members": [str(org["outsider"].user.public_id)]})
    taken = client.post(f"/settings/teams/{team.public_id}/", {"name": "suporte"})
    created_taken = client.post("/settings/teams/", {"name": "SUPORTE"})

    assert foreign.status_code == 400 and not team.members.exists()
    assert taken.status_code == 400 and created_taken.status_code == 400
    assert "Já existe uma equipe chamada “suporte”." in taken.content.decode()
    assert Team.all_objects.get(pk=team.pk).name == "Vendas"
    assert Team.all_objects.filter(tenant=acme).count() == 2


def test_labels_page_shows_each_colour_and_use_and_escapes_names(acme, org):
    label = label_create(tenant=acme, actor=None, name=XSS, color="#dc2626")
    for _ in range(2):
        factories.ConversationFactory(tenant=acme, channel=org["sales"]).labels.add(label)
    factories.LabelFactory(tenant=org["outsider"].tenant, name="globex-secret")
    client = _login(org["admin"])

    page = client.get("/settings/labels/").content.decode()

    assert '<rect width="14" height="14" fill="#dc2626"/>' in page
    assert "2 conversations" in page
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "globex-secret" not in page
    assert 'style="' not in page  # the colour is an SVG fill: the Content-Security-Policy allows no inline style


def test_the_labels_page_comes_in_pages_at_a_constant_cost(acme, org):
    client = _login(org["admin"])
    factories.LabelFactory.create_batch(3, tenant=acme)
    with CaptureQueriesContext(connection) as few:
        client.get("/settings/labels/")
    factories.LabelFactory.create_batch(52, tenant=acme)
    with CaptureQueriesContext(connection) as many:
        first = client.get("/settings/labels/").content.decode()
    second = client.get("/settings/labels/?page=2").content.decode()

    assert len(many) == len(few)
    assert first.count('<tr id="label-') == 50 and second.count('<tr id="label-') == 5
    assert 'rel="next" href="?page=2"' in first


def test_a_manager_creates_renames_recolours_and_deletes_a_label_on_the_page(acme, org):
    client = _login(org["admin"])

    created = client.post("/settings/labels/", {"name": "reembolso", "color": "#2563eb"})
    label = Label.all_objects.get(tenant=acme, name="reembolso")
    bad = client.post(f"/settings/labels/{label.public_id}/", {f"{label.public_id}-name": "reembolso",
                                                               f"{label.public_id}-color": "blue"})
    renamed = client.post(f"/settings/labels/{label.public_id}/", {f"{label.public_id}-name": "estorno",
                                                                   f"{label.public_id}-color": "#F59E0B"})
    label.refresh_from_db()
    deleted = client.post(f"/settings/labels/{label.public_id}/delete/")

    assert created.status_code == 302
    assert bad.status_code == 400 and "#RRGGBB" in bad.content.decode()
    assert renamed.status_code == 302 and (label.name, label.color) == ("estorno", "#f59e0b")
    assert deleted.status_code == 302 and not Label.all_objects.filter(pk=label.pk).exists()


def test_canned_responses_page_searches_creates_edits_and_deletes(acme, org):
    canned_response_create(tenant=acme, actor=None, short_code="ola", content=f"Olá! {XSS}")
    canned_response_create(tenant=acme, actor=None, short_code="horario", content="Atendemos das 8h às 18h.")
    factories.CannedResponseFactory(tenant=org["outsider"].tenant, short_code="segredo", content="globex only")
    client = _login(org["admin"])

    everything = client.get("/settings/canned-responses/").content.decode()
    found = client.get("/settings/canned-responses/?q=18h").content.decode()
    created = client.post("/settings/canned-responses/new/", {"short_code": "pix", "content": "Nossa chave Pix é…"})
    duplicate = client.post("/settings/canned-responses/new/", {"short_code": "PIX", "content": "Outra"})
    response = CannedResponse.all_objects.get(tenant=acme, short_code="pix")
    edited = client.post(f"/settings/canned-responses/{response.public_id}/",
                         {"short_code": "pix", "content": "Chave Pix: 12.345.678/0001-90"})
    deleted = client.post(f"/settings/canned-responses/{response.public_id}/delete/")

    assert "/ola" in everything and "/horario" in everything and "/segredo" not in everything
    assert XSS not in everything and "&lt;img src=x onerror=alert(1)&gt;" in everything
    assert "/horario" in found and "/ola" not in found
    assert created.status_code == 302
    assert duplicate.status_code == 400
    assert "The short code /pix is already used by another canned response." in duplicate.content.decode()
    assert edited.status_code == 302
    assert deleted.status_code == 302 and not CannedResponse.all_objects.filter(pk=response.pk).exists()
    assert [e.action for e in AuditEntry.all_objects.filter(tenant=acme, target_type="canned_response",
                                                            target_id=str(response.public_id)).order_by("id")] == [
        "canned_response.created", "canned_response.updated", "canned_response.deleted"]


def test_a_taken_short_code_is_explained_in_portuguese(acme, org):
    canned_response_create(tenant=acme, actor=None, short_code="ola", content="Olá!")
    client = _login(org["manager"])  # no language of their own: the account's, pt-BR

    response = client.post("/settings/canned-responses/new/", {"short_code": "ola", "content": "Oi"})

    assert response.status_code == 400
    assert "O atalho /ola já é usado por outra resposta pronta." in response.content.decode()


def test_agents_read_labels_and_canned_responses_but_change_nothing(acme, org):
    label = label_create(tenant=acme, actor=None, name="vip")
    response = canned_response_create(tenant=acme, actor=None, short_code="ola", content="Olá!")
    team = team_create(tenant=acme, actor=None, name="Vendas")
    client = _login(org["agent"])

    labels = client.get("/settings/labels/")
    canned = client.get("/settings/canned-responses/")
    refused = [
        client.get("/settings/teams/"), client.post("/settings/teams/", {"name": "Minha"}),
        client.get(f"/settings/teams/{team.public_id}/"), client.post(f"/settings/teams/{team.public_id}/delete/"),
        client.post("/settings/labels/", {"name": "nova", "color": "#000000"}),
        client.post(f"/settings/labels/{label.public_id}/", {f"{label.public_id}-name": "x",
                                                             f"{label.public_id}-color": "#000000"}),
        client.post(f"/settings/labels/{label.public_id}/delete/"),
        client.get("/settings/canned-responses/new/"),
        client.post("/settings/canned-responses/new/", {"short_code": "x", "content": "y"}),
        client.post(f"/settings/canned-responses/{response.public_id}/", {"short_code": "x", "content": "y"}),
        client.post(f"/settings/canned-responses/{response.public_id}/delete/"),
    ]

    assert labels.status_code == 200 and canned.status_code == 200
    assert "vip" in labels.content.decode() and "/ola" in canned.content.decode()
    assert "/settings/labels/" + str(label.public_id) not in labels.content.decode()  # no controls
    assert f"/settings/canned-responses/{response.public_id}/" not in canned.content.decode()
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert "Somente administradores e gerentes" in refused[0].content.decode()
    assert Team.all_objects.filter(tenant=acme).count() == 1 and Team.all_objects.get(pk=team.pk).name == "Vendas"
    assert list(Label.all_objects.filter(tenant=acme).values_list("name", flat=True)) == ["vip"]
    assert CannedResponse.all_objects.get(pk=response.pk).short_code == "ola"
    assert CannedResponse.all_objects.filter(tenant=acme).count() == 1


def test_another_accounts_team_label_or_canned_response_is_a_404(acme, globex, org):
    team = factories.TeamFactory(tenant=globex, name="Globex team")
    label = factories.LabelFactory(tenant=globex, name="globex-label")
    response = factories.CannedResponseFactory(tenant=globex, short_code="globex")
    client = _login(org["admin"])

    answers = [
        client.get(f"/settings/teams/{team.public_id}/"),
        client.post(f"/settings/teams/{team.public_id}/", {"name": "Taken over"}),
        client.post(f"/settings/teams/{team.public_id}/delete/"),
        client.post(f"/settings/labels/{label.public_id}/", {f"{label.public_id}-name": "x",
                                                             f"{label.public_id}-color": "#000000"}),
        client.post(f"/settings/labels/{label.public_id}/delete/"),
        client.get(f"/settings/canned-responses/{response.public_id}/"),
        client.post(f"/settings/canned-responses/{response.public_id}/delete/"),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert Team.all_objects.get(pk=team.pk).name == "Globex team"
    assert Label.all_objects.filter(pk=label.pk).exists() and CannedResponse.all_objects.filter(pk=response.pk).exists()


def test_the_settings_nav_shows_teams_to_managers_only(acme, org):
    manager_page = _login(org["manager"]).get("/settings/labels/").content.decode()
    agent_page = _login(org["agent"]).get("/settings/labels/").content.decode()

    assert 'href="/settings/teams/"' in manager_page and 'href="/settings/canned-responses/"' in manager_page
    assert 'href="/settings/teams/"' not in agent_page and 'href="/settings/canned-responses/"' in agent_page
    assert '<a href="/settings/labels/" aria-current="page">' in manager_page
    canned_page = _login(org["manager"]).get("/settings/canned-responses/new/").content.decode()
    assert '<a href="/settings/canned-responses/" aria-current="page">' in canned_page


# --- API --------------------------------------------------------------------------------


def test_teams_api_creates_reads_updates_and_deletes_by_public_ids(acme, org, api):
    client = api(org["manager"])

    created = client.post("/api/v1/teams", {
        "name": "Vendas", "member_ids": [str(org["agent"].user.public_id)],
        "channel_ids": [str(org["sales"].public_id)]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    team_id = body["id"]
    assert body["name"] == "Vendas"
    assert [m["id"] for m in body["members"]] == [str(org["agent"].user.public_id)]
    assert body["channels"] == [{"id": str(org["sales"].public_id), "name": "WhatsApp Vendas",
                                 "kind": org["sales"].kind}]

    renamed = client.patch(f"/api/v1/teams/{team_id}", {"name": "Vendas Sul",
                                                        "channel_ids": [str(org["support"].public_id)]}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Vendas Sul" and [c["name"] for c in renamed.json()["channels"]] == ["Email Suporte"]
    assert [m["id"] for m in renamed.json()["members"]] == [str(org["agent"].user.public_id)]  # untouched

    listed = client.get("/api/v1/teams").json()
    assert [t["id"] for t in listed["results"]] == [team_id]
    assert client.get(f"/api/v1/teams/{team_id}").json()["name"] == "Vendas Sul"

    deleted = client.delete(f"/api/v1/teams/{team_id}")
    assert deleted.status_code == 204
    assert client.get(f"/api/v1/teams/{team_id}").status_code == 404
    assert [e.action for e in AuditEntry.all_objects.filter(tenant=acme, target_type="team").order_by("id")] == [
        "team.created", "team.updated", "team.deleted"]


def test_teams_api_refuses_foreign_members_and_channels_and_taken_names(acme, org, api):
    client = api(org["admin"])
    team_create(tenant=acme, actor=None, name="Vendas")

    foreign_member = client.post("/api/v1/teams", {"name": "A", "member_ids": [str(org["outsider"].user.public_id)]},
                                 format="json")
    foreign_channel = client.post("/api/v1/teams", {"name": "B", "channel_ids": [str(org["foreign_channel"].public_id)]},
                                  format="json")
    duplicate = client.post("/api/v1/teams", {"name": "vendas"}, format="json")
    blank = client.post("/api/v1/teams", {"name": "   "}, format="json")

    assert foreign_member.status_code == 422 and "member_ids" in foreign_member.json()["error"]["details"]
    assert foreign_channel.status_code == 422 and "channel_ids" in foreign_channel.json()["error"]["details"]
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "duplicate"
    assert duplicate.json()["error"]["details"] == {"name": ["There is already a team named “vendas”."]}
    assert blank.status_code == 400 and "name" in blank.json()["error"]["details"]
    assert list(Team.all_objects.filter(tenant=acme).values_list("name", flat=True)) == ["Vendas"]


def test_labels_api_crud_with_counts_and_colour_validation(acme, org, api):
    client = api(org["manager"])
    conversation = factories.ConversationFactory(tenant=acme, channel=org["sales"])

    created = client.post("/api/v1/labels", {"name": "vip", "color": "#2563EB"}, format="json")
    label_id = created.json()["id"]
    conversation.labels.add(Label.all_objects.get(public_id=label_id))
    bad_colour = client.patch(f"/api/v1/labels/{label_id}", {"color": "blue"}, format="json")
    duplicate = client.post("/api/v1/labels", {"name": "VIP"}, format="json")
    recoloured = client.patch(f"/api/v1/labels/{label_id}", {"color": "#16a34a"}, format="json")
    listed = client.get("/api/v1/labels").json()["results"]
    deleted = client.delete(f"/api/v1/labels/{label_id}")

    assert created.status_code == 201 and created.json()["color"] == "#2563eb"
    assert bad_colour.status_code == 400 and "color" in bad_colour.json()["error"]["details"]
    assert duplicate.status_code == 409 and "name" in duplicate.json()["error"]["details"]
    assert recoloured.status_code == 200 and recoloured.json()["color"] == "#16a34a"
    assert [(lb["name"], lb["conversations_count"]) for lb in listed] == [("vip", 1)]
    assert deleted.status_code == 204
    assert not Conversation.all_objects.get(pk=conversation.pk).labels.exists()


def test_canned_responses_api_crud_and_search(acme, org, api):
    client = api(org["admin"])

    created = client.post("/api/v1/canned-responses", {"short_code": "ola", "content": "Olá! Como posso ajudar?"},
                          format="json")
    client.post("/api/v1/canned-responses", {"short_code": "horario", "content": "Das 8h às 18h."}, format="json")
    duplicate = client.post("/api/v1/canned-responses", {"short_code": "ola", "content": "x"}, format="json")
    bad_code = client.post("/api/v1/canned-responses", {"short_code": "com espaço", "content": "x"}, format="json")
    found = client.get("/api/v1/canned-responses?q=18h").json()["results"]
    response_id = created.json()["id"]
    edited = client.put(f"/api/v1/canned-responses/{response_id}", {"short_code": "oi", "content": "Oi!"},
                        format="json")
    deleted = client.delete(f"/api/v1/canned-responses/{response_id}")

    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["details"] == {
        "short_code": ["The short code /ola is already used by another canned response."]}
    assert bad_code.status_code == 400 and "short_code" in bad_code.json()["error"]["details"]
    assert [r["short_code"] for r in found] == ["horario"]
    assert edited.status_code == 200 and edited.json()["short_code"] == "oi" and edited.json()["content"] == "Oi!"
    assert deleted.status_code == 204
    assert list(CannedResponse.all_objects.filter(tenant=acme).values_list("short_code", flat=True)) == ["horario"]


def test_agents_read_through_the_api_but_cannot_change(acme, org, api):
    label = label_create(tenant=acme, actor=None, name="vip")
    response = canned_response_create(tenant=acme, actor=None, short_code="ola", content="Olá!")
    team = team_create(tenant=acme, actor=None, name="Vendas")
    client = api(org["agent"])

    reads = [client.get("/api/v1/labels"), client.get("/api/v1/canned-responses"), client.get("/api/v1/teams"),
             client.get(f"/api/v1/canned-responses/{response.public_id}")]
    writes = [
        client.post("/api/v1/teams", {"name": "Minha"}, format="json"),
        client.patch(f"/api/v1/teams/{team.public_id}", {"name": "X"}, format="json"),
        client.delete(f"/api/v1/teams/{team.public_id}"),
        client.post("/api/v1/labels", {"name": "nova"}, format="json"),
        client.delete(f"/api/v1/labels/{label.public_id}"),
        client.post("/api/v1/canned-responses", {"short_code": "x", "content": "y"}, format="json"),
        client.patch(f"/api/v1/canned-responses/{response.public_id}", {"content": "y"}, format="json"),
        client.delete(f"/api/v1/canned-responses/{response.public_id}"),
    ]

    assert [r.status_code for r in reads] == [200] * len(reads)
    assert [w.status_code for w in writes] == [403] * len(writes)
    assert {w.json()["error"]["code"] for w in writes} == {"permission_denied"}
    assert Team.all_objects.get(pk=team.pk).name == "Vendas" and Label.all_objects.filter(pk=label.pk).exists()
    assert CannedResponse.all_objects.get(pk=response.pk).content == "Olá!"


def test_another_accounts_rows_are_404_through_the_api_and_never_listed(acme, globex, org, api):
    team = factories.TeamFactory(tenant=globex)
    label = factories.LabelFactory(tenant=globex)
    response = factories.CannedResponseFactory(tenant=globex)
    client = api(org["admin"])

    answers = [
        client.get(f"/api/v1/teams/{team.public_id}"),
        client.patch(f"/api/v1/teams/{team.public_id}", {"name": "Mine"}, format="json"),
        client.delete(f"/api/v1/teams/{team.public_id}"),
        client.get(f"/api/v1/labels/{label.public_id}"),
        client.delete(f"/api/v1/labels/{label.public_id}"),
        client.put(f"/api/v1/canned-responses/{response.public_id}", {"short_code": "a", "content": "b"},
                   format="json"),
        client.delete(f"/api/v1/canned-responses/{response.public_id}"),
    ]
    lists = [client.get(path).json()["results"] for path in
             ("/api/v1/teams", "/api/v1/labels", "/api/v1/canned-responses")]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert lists == [[], [], []]
    assert Team.all_objects.filter(pk=team.pk).exists() and Label.all_objects.filter(pk=label.pk).exists()
    assert CannedResponse.all_objects.filter(pk=response.pk).exists()


def test_the_teams_list_costs_the_same_queries_for_one_team_or_many(acme, org, api):
    client = api(org["admin"])
    team_create(tenant=acme, actor=None, name="T0", members=[org["agent"].user], channels=[org["sales"]])
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/teams").status_code == 200
    for n in range(1, 6):
        team_create(tenant=acme, actor=None, name=f"T{n}", members=[org["agent"].user, org["manager"].user],
                    channels=[org["sales"], org["support"]])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/teams").json()["results"]) == 6

    assert len(many) == len(one)


# --- The plan's channel limit -------------------------------------------------------------


def test_the_channels_page_says_how_many_of_the_plans_channels_are_used(acme, org):
    Tenant.objects.filter(pk=acme.pk).update(max_channels=3)
    client = _login(org["admin"])  # English

    page = client.get("/settings/channels/").content.decode()

    assert "2 of 3 channels of your plan used." in page
    assert "Upgrade the plan" not in page


def test_adding_a_channel_past_the_plan_limit_on_the_settings_page_is_refused_clearly(acme, org):
    Tenant.objects.filter(pk=acme.pk).update(max_channels=2)
    english = _login(org["admin"])
    portuguese = _login(org["manager"])

    channels_page = english.get("/settings/channels/").content.decode()
    form = english.get("/settings/channels/new/api/").content.decode()
    refused = english.post("/settings/channels/new/api/", {"name": "Integração"})
    refused_pt = portuguese.post("/settings/channels/new/api/", {"name": "Integração"})

    assert "2 of 2 channels of your plan used." in channels_page
    assert "Your plan allows 2 channels; you have 2." in channels_page
    assert "Your plan allows 2 channels; you have 2." in form
    assert refused.status_code == 400
    assert "Your plan allows 2 channels; you have 2. Upgrade the plan or remove some first." in refused.content.decode()
    assert refused_pt.status_code == 400
    assert "Seu plano permite 2 canais; você já tem 2." in refused_pt.content.decode()
    assert Channel.all_objects.filter(tenant=acme).count() == 2


def test_adding_a_channel_past_the_plan_limit_through_the_api_is_a_clear_403(acme, org, api):
    Tenant.objects.filter(pk=acme.pk).update(max_channels=2)

    response = api(org["admin"]).post("/api/v1/channels", {"kind": "api", "name": "Integração"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "plan_limit_exceeded",
        "message": "Your plan allows 2 channels; you have 2. Upgrade the plan or remove some first.",
        "details": {"resource": "channels", "limit": 2, "usage": 2}}
    assert Channel.all_objects.filter(tenant=acme).count() == 2
