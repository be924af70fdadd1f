"""Merging two contacts: the kept one takes the other's conversations, addresses, missing
details, attributes and consent; the other is deleted; audited; the inbox is told. Through the
service, the page and the API, never across tenants or past what a member may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry, Role
from config.errors import ConflictError, ValidationFailed
from contacts.lgpd import contact_anonymise
from contacts.merge import contact_merge
from contacts.models import Contact, ContactIdentity
from contacts.services import contact_identity_resolve
from conversations.models import Conversation
from tests import factories
from tests.clients import page

pytestmark = pytest.mark.django_db
CONSENT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def pair(acme: Any) -> dict[str, Any]:
    """Ana wrote on WhatsApp from two numbers (one contact each) and once by email."""
    whatsapp = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", name="WhatsApp")
    email = factories.ChannelFactory(tenant=acme, kind="email", name="Email")
    keep = factories.ContactFactory(tenant=acme, name="Ana", phone="+5511987650001", email="",
                                    attributes={"plan": "gold", "city": "São Paulo"})
    merge = factories.ContactFactory(tenant=acme, name="Ana Souza", phone="+5511987650002", email="ana@example.test",
                                     attributes={"city": "Rio", "customer_since": "2019"},
                                     consent_at=CONSENT, consent_source="checkout form")
    factories.ContactIdentityFactory(contact=keep, channel=whatsapp, external_id="5511987650001")
    factories.ContactIdentityFactory(contact=merge, channel=whatsapp, external_id="5511987650002")
    factories.ContactIdentityFactory(contact=merge, channel=email, external_id="ana@example.test")
    conversations = [factories.ConversationFactory(tenant=acme, channel=whatsapp, contact=keep),
                     factories.ConversationFactory(tenant=acme, channel=whatsapp, contact=merge),
                     factories.ConversationFactory(tenant=acme, channel=email, contact=merge)]
    return {"keep": keep, "merge": merge, "whatsapp": whatsapp, "email": email, "conversations": conversations}


def test_merge_moves_conversations_and_addresses_and_combines_details(
        acme: Any, member: Any, pair: Any, events: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN)
    keep, merge = pair["keep"], pair["merge"]
    merged_id = str(merge.public_id)

    with django_capture_on_commit_callbacks(execute=True):
        contact_merge(keep=keep, merge=merge, actor=admin.user)

    keep.refresh_from_db()
    assert not Contact.all_objects.filter(public_id=merged_id).exists()
    assert set(Conversation.all_objects.filter(contact=keep)) == set(pair["conversations"])
    assert sorted(ContactIdentity.all_objects.filter(contact=keep).values_list("channel__name", "external_id")) == [
        ("Email", "ana@example.test"), ("WhatsApp", "5511987650001"), ("WhatsApp", "5511987650002")]
    # the kept contact's values win; what it lacked comes from the other
    assert (keep.name, keep.phone, keep.email) == ("Ana", "+5511987650001", "ana@example.test")
    assert keep.attributes == {"plan": "gold", "city": "São Paulo", "customer_since": "2019"}
    assert (keep.consent_at, keep.consent_source) == (CONSENT, "checkout form")
    [entry] = AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.CONTACT_MERGED)
    assert entry.actor == admin.user and entry.target_id == str(keep.public_id)
    assert entry.details["merged"] == {"id": merged_id, "label": "Ana Souza"}
    assert entry.details["kept"]["label"] == "Ana"
    assert (entry.details["conversations"], entry.details["identities"]) == (2, 2)
    [event] = [event for event in events if event.name == "contact.merged"]
    assert event.payload() == {"contact_id": str(keep.public_id), "merged_contact_id": merged_id}


def test_a_message_from_the_merged_address_lands_on_the_kept_contact(acme: Any, member: Any, pair: Any) -> None:
    contact_merge(keep=pair["keep"], merge=pair["merge"], actor=None)

    identity = contact_identity_resolve(channel=pair["whatsapp"], external_id="5511987650002")

    assert identity.contact_id == pair["keep"].pk
    assert Contact.all_objects.filter(tenant=acme).count() == 1


def test_the_kept_contacts_consent_stays_when_both_have_one(acme: Any, pair: Any) -> None:
    keep = pair["keep"]
    keep.consent_at, keep.consent_source = CONSENT + dt.timedelta(days=30), "WhatsApp opt-in"
    keep.save()

    contact_merge(keep=keep, merge=pair["merge"], actor=None)

    keep.refresh_from_db()
    assert keep.consent_source == "WhatsApp opt-in"


def test_another_tenants_contact_the_same_one_or_an_anonymised_one_is_refused(
        acme: Any, globex: Any, pair: Any) -> None:
    foreign = factories.ContactFactory(tenant=globex)
    anonymised = factories.ContactFactory(tenant=acme, anonymised_at=timezone.now())

    with pytest.raises(ValidationFailed):
        contact_merge(keep=pair["keep"], merge=foreign, actor=None)
    with pytest.raises(ValidationFailed):
        contact_merge(keep=pair["keep"], merge=pair["keep"], actor=None)
    with pytest.raises(ConflictError):
        contact_merge(keep=pair["keep"], merge=anonymised, actor=None)

    assert Contact.all_objects.filter(pk=foreign.pk).exists() and Contact.all_objects.filter(pk=anonymised.pk).exists()
    assert Conversation.all_objects.filter(contact=pair["merge"]).count() == 2
    assert not AuditEntry.all_objects.filter(action=AuditAction.CONTACT_MERGED).exists()


def test_merge_through_the_api(acme: Any, globex: Any, member: Any, api: Any, pair: Any) -> None:
    manager = api(member(acme, Role.MANAGER))
    keep, merge = pair["keep"], pair["merge"]
    foreign = factories.ContactFactory(tenant=globex)

    refused = manager.post(f"/api/v1/contacts/{keep.public_id}/merge", {"other_id": str(foreign.public_id)},
                           format="json")
    bad = manager.post(f"/api/v1/contacts/{keep.public_id}/merge", {"other_id": 12}, format="json")
    unknown = manager.post(f"/api/v1/contacts/{foreign.public_id}/merge", {"other_id": str(merge.public_id)},
                           format="json")
    viewer = api(member(acme, Role.VIEWER)).post(f"/api/v1/contacts/{keep.public_id}/merge",
                                                 {"other_id": str(merge.public_id)}, format="json")
    assert (refused.status_code, bad.status_code, unknown.status_code, viewer.status_code) == (422, 400, 404, 403)
    assert "other_id" in refused.json()["error"]["details"]
    assert Contact.all_objects.filter(pk=merge.pk).exists() and Contact.all_objects.filter(pk=foreign.pk).exists()

    response = manager.post(f"/api/v1/contacts/{keep.public_id}/merge", {"other_id": str(merge.public_id)},
                            format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(keep.public_id) and body["email"] == "ana@example.test"
    assert len(body["identities"]) == 3
    assert not Contact.all_objects.filter(pk=merge.pk).exists()


def test_an_agent_merges_only_contacts_they_may_see(acme: Any, member: Any, api: Any, pair: Any) -> None:
    # The agent works WhatsApp only; a contact on the email channel alone is hidden from them.
    hidden = factories.ContactFactory(tenant=acme, name="Só email")
    factories.ContactIdentityFactory(contact=hidden, channel=pair["email"])
    factories.ConversationFactory(tenant=acme, channel=pair["email"], contact=hidden)
    agent = api(member(acme, Role.AGENT, channels=(pair["whatsapp"],)))

    response = agent.post(f"/api/v1/contacts/{pair['keep'].public_id}/merge", {"other_id": str(hidden.public_id)},
                          format="json")

    assert response.status_code == 422 and "other_id" in response.json()["error"]["details"]
    assert Contact.all_objects.filter(pk=hidden.pk).exists()


def test_the_merge_page_finds_the_other_contact_confirms_and_merges(acme: Any, member: Any, pair: Any) -> None:
    client = page(member(acme, Role.MANAGER))
    keep, merge = pair["keep"], pair["merge"]
    url = f"/contacts/{keep.public_id}/merge/"

    found = client.get(url, {"q": "souza"})
    nothing = client.get(url, {"q": "nobody-like-this"})
    confirm = client.get(url, {"other": str(merge.public_id)})

    assert found.status_code == 200 and "Ana Souza" in found.content.decode()
    assert f"?other={merge.public_id}" in found.content.decode()
    assert nothing.status_code == 200 and f"?other={merge.public_id}" not in nothing.content.decode()
    text = confirm.content.decode()
    assert confirm.status_code == 200 and 'name="other"' in text and "customer_since" in text
    assert f"/contacts/{merge.public_id}/merge/?other={keep.public_id}" in text  # keep the other one instead
    assert Contact.all_objects.filter(pk=merge.pk).exists()  # looking merges nothing

    done = client.post(url, {"other": str(merge.public_id)})

    assert done.status_code == 302 and done["Location"] == f"/contacts/{keep.public_id}/"
    assert not Contact.all_objects.filter(pk=merge.pk).exists()
    assert Conversation.all_objects.filter(contact=keep).count() == 3


def test_the_merge_page_is_not_for_viewers_nor_other_tenants(acme: Any, globex: Any, member: Any, pair: Any) -> None:
    viewer = page(member(acme, Role.VIEWER)).post(f"/contacts/{pair['keep'].public_id}/merge/",
                                                  {"other": str(pair["merge"].public_id)})
    foreign = page(member(globex, Role.TENANT_ADMIN)).get(f"/contacts/{pair['keep'].public_id}/merge/")

    assert viewer.status_code == 403 and foreign.status_code == 404
    assert Contact.all_objects.filter(pk=pair["merge"].pk).exists()


def test_an_anonymised_contact_is_not_offered_for_a_merge(acme: Any, member: Any, pair: Any) -> None:
    contact_anonymise(contact=pair["merge"], actor=None)
    client = page(member(acme, Role.MANAGER))

    response = client.get(f"/contacts/{pair['keep'].public_id}/merge/", {"q": "anon"})
    chosen = client.post(f"/contacts/{pair['keep'].public_id}/merge/", {"other": str(pair["merge"].public_id)})

    assert f"?other={pair['merge'].public_id}" not in response.content.decode()
    assert chosen.status_code == 302 and Contact.all_objects.filter(pk=pair["merge"].pk).exists()
