"""Contacts are scoped for agents and viewers as conversations are: a contact is theirs to see
when it is on a channel they work (an identity there, or a conversation on it), or on no
channel at all yet; managers and admins see all of the tenant's. In the API, in the inbox's
contact panel, and wherever a contact is named by its id."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from contacts.models import Contact, ContactIdentity
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def shape(acme, member):
    worked = factories.ChannelFactory(tenant=acme, name="WhatsApp Vendas")
    other = factories.ChannelFactory(tenant=acme, name="WhatsApp Diretoria")
    # on the agent's channel by a conversation only
    talked = factories.ContactFactory(tenant=acme, name="Cliente da Vendas")
    factories.ConversationFactory(tenant=acme, channel=worked, contact=talked)
    # on the agent's channel by an identity only (wrote once, no conversation kept)
    known = factories.ContactFactory(tenant=acme, name="Contato Conhecido")
    ContactIdentity.all_objects.create(tenant=acme, contact=known, channel=worked, external_id="5511911110000")
    # on another channel only: by a conversation and an identity
    hidden = factories.ContactFactory(tenant=acme, name="Diretor", email="diretor@acme.test")
    factories.ConversationFactory(tenant=acme, channel=other, contact=hidden)
    ContactIdentity.all_objects.create(tenant=acme, contact=hidden, channel=other, external_id="5511922220000")
    # on no channel yet (made by hand or through the API)
    fresh = factories.ContactFactory(tenant=acme, name="Recém-criado")
    return {
        "talked": talked, "known": known, "hidden": hidden, "fresh": fresh, "worked": worked,
        "agent": member(acme, Role.AGENT, channels=(worked,)),
        "viewer": member(acme, Role.VIEWER, channels=(worked,)),
        "manager": member(acme, Role.MANAGER),
    }


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {c["name"] for c in response.json()["results"]}


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_an_agent_lists_and_searches_only_the_contacts_of_its_channels(shape, api, role):
    client = api(shape[role])

    listed = _names(client.get("/api/v1/contacts"))
    searched = _names(client.get("/api/v1/contacts", {"search": "Diretor"}))
    by_email = _names(client.get("/api/v1/contacts", {"email": "diretor@acme.test"}))

    assert listed == {"Cliente da Vendas", "Contato Conhecido", "Recém-criado"}
    assert searched == set() and by_email == set()


def test_an_agent_can_neither_read_nor_change_a_contact_outside_its_channels(shape, api):
    client = api(shape["agent"])
    hidden = shape["hidden"]

    read = client.get(f"/api/v1/contacts/{hidden.public_id}")
    patch = client.patch(f"/api/v1/contacts/{hidden.public_id}", {"name": "Renomeado"}, format="json")
    put = client.put(f"/api/v1/contacts/{hidden.public_id}", {"name": "Renomeado"}, format="json")
    opened = client.post("/api/v1/conversations", {"channel_id": str(shape["worked"].public_id),
                                                   "contact_id": str(hidden.public_id)}, format="json")

    assert read.status_code == 404 and read.json()["error"]["code"] == "not_found"
    assert patch.status_code == 404 and put.status_code == 404
    assert opened.status_code == 422 and "contact_id" in opened.json()["error"]["details"]
    assert Contact.all_objects.get(pk=hidden.pk).name == "Diretor"


def test_an_agent_works_the_contacts_of_its_channels_and_those_it_creates(shape, api):
    client = api(shape["agent"])

    read = client.get(f"/api/v1/contacts/{shape['known'].public_id}")
    renamed = client.patch(f"/api/v1/contacts/{shape['talked'].public_id}", {"name": "Cliente VIP"}, format="json")
    created = client.post("/api/v1/contacts", {"name": "Novo Cliente"}, format="json")
    again = client.get(f"/api/v1/contacts/{created.json()['id']}")
    opened = client.post("/api/v1/conversations", {"channel_id": str(shape["worked"].public_id),
                                                   "contact_id": created.json()["id"]}, format="json")

    assert read.status_code == 200
    assert renamed.status_code == 200 and renamed.json()["name"] == "Cliente VIP"
    assert created.status_code == 201 and again.status_code == 200
    assert opened.status_code == 201, opened.content


def test_managers_see_every_contact_of_the_tenant(shape, api, globex):
    factories.ContactFactory(tenant=globex, name="De outra empresa")

    listed = _names(api(shape["manager"]).get("/api/v1/contacts"))
    hidden = api(shape["manager"]).get(f"/api/v1/contacts/{shape['hidden'].public_id}")

    assert listed == {"Cliente da Vendas", "Contato Conhecido", "Diretor", "Recém-criado"}
    assert hidden.status_code == 200


def _login(member) -> Client:
    client = Client()
    assert client.post("/login/", {"email": member.user.email, "password": PASSWORD}).status_code == 302
    return client


def test_the_inbox_contact_panel_is_scoped_the_same_way(shape):
    client = _login(shape["agent"])
    hidden, talked = shape["hidden"], shape["talked"]

    shown = client.get(f"/inbox/contacts/{talked.public_id}/")
    refused = client.get(f"/inbox/contacts/{hidden.public_id}/")
    edit = client.post(f"/inbox/contacts/{hidden.public_id}/", {"name": "Renomeado", "phone": "", "email": ""})

    assert shown.status_code == 200 and "Cliente da Vendas" in shown.content.decode()
    assert refused.status_code == 404 and edit.status_code == 404
    assert "Diretor" not in refused.content.decode()
    assert Contact.all_objects.get(pk=hidden.pk).name == "Diretor"
    assert _login(shape["manager"]).get(f"/inbox/contacts/{hidden.public_id}/").status_code == 200
