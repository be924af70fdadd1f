"""Contacts and groups kept current from what Evolution API says of them (contacts.update,
contacts.upsert, groups.upsert, groups.update) and, for a group whose first message names no
group, from what its server answers (GET /group/findGroupInfos), asked after the message is
stored. Shapes: tests/fixtures/evolution/SOURCES.md."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import Role
from contacts.models import Contact
from contacts.services import contact_update
from conversations.models import Conversation
from integrations.models import WebhookEvent
from tests import factories
from tests.factories import PASSWORD
from tests.integrations.evolution.conftest import CUSTOMER, INSTANCE, fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db

GROUP = "120363000000000001@g.us"  # the fixtures' group


def _processed() -> None:
    assert set(WebhookEvent.all_objects.values_list("status", "error")) == {(WebhookEvent.Status.PROCESSED, "")}


@pytest.fixture
def customer(evolution_channel):
    """The fixtures' customer, known to the channel by phone and @lid, under the name WhatsApp
    gave when they first wrote."""
    contact = factories.ContactFactory(tenant=evolution_channel.tenant, name="Test Customer", phone=f"+{CUSTOMER}")
    for address in (CUSTOMER, "100000000000123@lid"):
        factories.ContactIdentityFactory(contact=contact, tenant=evolution_channel.tenant, channel=evolution_channel,
                                         external_id=address)
    return contact


@pytest.fixture
def group(evolution_channel):
    contact = factories.ContactFactory(tenant=evolution_channel.tenant, name="", phone="", email="")
    factories.ContactIdentityFactory(contact=contact, tenant=evolution_channel.tenant, channel=evolution_channel,
                                     external_id=GROUP)
    return contact


def test_a_contacts_new_name_and_picture_are_kept(customer, evolution_channel, post_webhook,
                                                  django_capture_on_commit_callbacks, events):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(evolution_channel, fixture_bytes("webhook-contacts-update.json")).status_code == 200

    _processed()
    customer.refresh_from_db()
    picture = fixture_json("webhook-contacts-update.json")["data"][0]["profilePicUrl"]
    assert (customer.name, customer.picture_url) == ("Test Customer Silva", picture)
    (event,) = [event for event in events if event.name == "contact.updated"]
    assert event.contact_id == str(customer.public_id) and event.changed == ("name", "picture_url")
    assert event.channel_pk == evolution_channel.pk  # only the channel's members are told


def test_the_same_picture_signed_again_and_the_same_name_change_nothing(customer, evolution_channel, post_webhook,
                                                                         django_capture_on_commit_callbacks, events):
    payload = fixture_json("webhook-contacts-update.json")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, json.dumps(payload).encode())
    payload["data"][0]["profilePicUrl"] = payload["data"][0]["profilePicUrl"].replace("oe=68600000", "oe=68700000")
    events.clear()

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, json.dumps(payload).encode())

    assert events == []


def test_a_name_an_agent_typed_is_never_replaced(customer, evolution_channel, post_webhook,
                                                 django_capture_on_commit_callbacks):
    agent = factories.UserFactory()
    contact_update(contact=customer, actor=agent, name="Maria (cliente VIP)")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-contacts-update.json"))

    customer.refresh_from_db()
    assert customer.name == "Maria (cliente VIP)" and customer.name_set_by_hand
    assert customer.picture_url.startswith("https://pps.whatsapp.net/")  # the picture is still the provider's


def test_a_name_cleared_by_an_agent_is_the_providers_again(customer, evolution_channel, post_webhook,
                                                           django_capture_on_commit_callbacks):
    agent = factories.UserFactory()
    contact_update(contact=customer, actor=agent, name="Typed")
    contact_update(contact=customer, actor=agent, name="")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-contacts-update.json"))

    customer.refresh_from_db()
    assert customer.name == "Test Customer Silva"


def test_an_address_book_listing_neither_makes_contacts_nor_names_them_by_number(customer, evolution_channel,
                                                                                post_webhook,
                                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-contacts-upsert.json"))

    _processed()
    assert list(Contact.all_objects.values_list("name", flat=True)) == ["Test Customer"]  # 15555550124: not made


def test_a_contact_known_by_its_lid_is_found(customer, evolution_channel, post_webhook,
                                             django_capture_on_commit_callbacks):
    payload = fixture_json("webhook-contacts-update.json")
    payload["data"][0]["remoteJid"] = "100000000000123@lid"

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, json.dumps(payload).encode())

    customer.refresh_from_db()
    assert customer.name == "Test Customer Silva"


def test_a_groups_chat_takes_its_picture_not_its_authors_name(group, evolution_channel, post_webhook,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-contacts-update-group.json"))

    group.refresh_from_db()
    assert group.name == "" and group.picture_url.startswith("https://pps.whatsapp.net/")


@pytest.mark.parametrize("name,subject", [("webhook-groups-upsert.json", "Pedidos da Loja"),
                                          ("webhook-groups-update.json", "Pedidos e Entregas")])
def test_a_groups_subject_is_its_name(name, subject, group, evolution_channel, post_webhook,
                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes(name))

    _processed()
    group.refresh_from_db()
    assert group.name == subject


def test_another_tenants_contact_at_the_same_address_is_left_alone(customer, evolution_channel, globex,
                                                                   post_webhook, django_capture_on_commit_callbacks):
    other_channel = factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution")
    theirs = factories.ContactFactory(tenant=globex, name="Someone else")
    factories.ContactIdentityFactory(contact=theirs, tenant=globex, channel=other_channel, external_id=CUSTOMER)

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-contacts-update.json"))

    theirs.refresh_from_db()
    assert (theirs.name, theirs.picture_url) == ("Someone else", "")


def test_a_groups_first_message_asks_its_server_for_the_subject_after_it_is_stored(
        evolution, evolution_channel, post_webhook, django_capture_on_commit_callbacks, member):
    info = fixture_json("group-findGroupInfos.response.json")
    evolution.add_group(INSTANCE, GROUP, info["subject"], picture_url=info["pictureUrl"])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-group.json"))
        # stored, and the server not asked yet: never within the transaction
        assert not [request for request in evolution.requests if "findGroupInfos" in request["path"]]
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    (asked,) = [request for request in evolution.requests if "findGroupInfos" in request["path"]]
    assert asked["path"] == f"/group/findGroupInfos/{INSTANCE}?groupJid=120363000000000001%40g.us"
    conversation = Conversation.all_objects.get()
    assert conversation.contact.name == "Pedidos da Loja"
    assert conversation.contact.picture_url == info["pictureUrl"]

    # and the inbox shows the group by its name
    admin = member(evolution_channel.tenant, Role.TENANT_ADMIN)
    client = Client()
    assert client.post("/login/", {"email": admin.user.email, "password": PASSWORD}).status_code == 302
    page = client.get(f"/inbox/c/{conversation.public_id}/?tab=all").content.decode()
    assert page.count("Pedidos da Loja") >= 2  # its row and its thread


def test_a_group_the_server_does_not_know_stays_unnamed(evolution, evolution_channel, post_webhook,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-messages-upsert-group.json"))

    assert [request["status"] for request in evolution.requests if "findGroupInfos" in request["path"]] == [404]
    assert Conversation.all_objects.get().contact.name == ""


def test_a_persons_first_message_asks_nothing(evolution, evolution_channel, post_webhook,
                                              django_capture_on_commit_callbacks):
    payload = fixture_json("webhook-messages-upsert-text.json")
    payload["data"]["pushName"] = ""
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, json.dumps(payload).encode())

    assert not evolution.requests


def test_the_api_shows_the_contacts_picture(customer, evolution_channel, post_webhook,
                                            django_capture_on_commit_callbacks, api, member):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(evolution_channel, fixture_bytes("webhook-contacts-update.json"))

    answer = api(member(evolution_channel.tenant, Role.TENANT_ADMIN)).get(f"/api/v1/contacts/{customer.public_id}")

    assert answer.status_code == 200, answer.content
    assert answer.json()["picture_url"] == fixture_json("webhook-contacts-update.json")["data"][0]["profilePicUrl"]


# --- a renamed group: Evolution 2.3.6 posts no groups.update, its group list says it ----------

@pytest.fixture
def groups_channel(evolution_channel):
    evolution_channel.status = "CONNECTED"
    evolution_channel.config = {**evolution_channel.config, "groups": True}
    evolution_channel.save(update_fields=["status", "config"])
    return evolution_channel


def test_a_group_renamed_without_a_word_is_renamed_by_the_periodic_refresh(evolution, groups_channel, group):
    from integrations.tasks import channels_groups_refresh

    evolution.add_group(INSTANCE, GROUP, "Pedidos da Loja")
    evolution.group_subject(INSTANCE, GROUP, "Pedidos — Loja Centro", announce=False)  # as 2.3.6 does
    evolution.add_group(INSTANCE, "120363000000000099@g.us", "A group nobody wrote from")

    assert channels_groups_refresh.delay().get() == 1

    group.refresh_from_db()
    assert group.name == "Pedidos — Loja Centro"
    (asked,) = [request for request in evolution.requests if "fetchAllGroups" in request["path"]]
    assert asked["path"] == f"/group/fetchAllGroups/{INSTANCE}?getParticipants=false"
    assert Contact.all_objects.count() == 1  # the other group is not made a contact


def test_the_refresh_keeps_a_name_typed_by_hand_and_skips_channels_without_groups(evolution, groups_channel,
                                                                                  group, acme):
    from integrations.inbound.contacts import channels_groups_refresh_all

    factories.ChannelFactory(tenant=acme, kind="whatsapp_evolution", status="CONNECTED",
                             config={"instance": "no-groups", "groups": False})
    contact_update(contact=group, actor=None, name="Loja (grupo)")
    evolution.add_group(INSTANCE, GROUP, "Pedidos da Loja")

    assert channels_groups_refresh_all() == 0

    group.refresh_from_db()
    assert group.name == "Loja (grupo)"
    assert [request["path"].split("?")[0] for request in evolution.requests] == [f"/group/fetchAllGroups/{INSTANCE}"]


def test_a_server_that_cannot_answer_leaves_the_group_for_the_next_round(evolution, groups_channel, group):
    from integrations.inbound.contacts import channels_groups_refresh_all

    evolution.fail_next(500, path="/group/")

    assert channels_groups_refresh_all() == 0
    group.refresh_from_db()
    assert group.name == ""
