"""LGPD for one contact: the export (a zip of everything held, with the files) and the
anonymisation (personal data gone for good, the tenant's counts kept), both audited, only for
members who may see the contact; a later message from the same address makes a new contact."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import translation

from accounts.models import AuditAction, AuditEntry, Role
from contacts.models import Contact, ContactIdentity
from conversations.models import Attachment, Conversation, Message
from tests import factories
from tests.clients import page

pytestmark = pytest.mark.django_db
CONSENT = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)
PHOTO = b"\x89PNG\r\n\x1a\n fake picture bytes"


@pytest.fixture
def api_channel(acme: Any) -> Any:
    return factories.ChannelFactory(tenant=acme, kind="api", name="CRM")


@pytest.fixture
def bruna(acme: Any, api_channel: Any) -> Any:
    """Bruna wrote twice on the CRM channel, once with a picture; an agent answered."""
    contact = factories.ContactFactory(tenant=acme, name="Bruna Costa", phone="+5511998765432",
                                       email="bruna@example.test", attributes={"cpf": "123.456.789-00"},
                                       picture_url="https://cdn.example.test/bruna.jpg",
                                       consent_at=CONSENT, consent_source="site form")
    factories.ContactIdentityFactory(contact=contact, channel=api_channel, external_id="crm-contact-1")
    conversation = factories.ConversationFactory(tenant=acme, channel=api_channel, contact=contact,
                                                 last_message_preview="Segue a foto do RG")
    factories.MessageFactory(conversation=conversation, content="Quero trocar o tamanho",
                             metadata={"order": "A-1"})
    photo = factories.MessageFactory(conversation=conversation, content="Segue a foto do RG", type=Message.Type.IMAGE,
                                     content_attributes={"media": {"caption": "RG"}})
    factories.MessageFactory(conversation=conversation, content="Recebido, obrigado!",
                             direction=Message.Direction.OUTBOUND, sender_type=Message.SenderType.AGENT,
                             status=Message.Status.READ)
    attachment = Attachment.all_objects.create(
        tenant=acme, message=photo, file=ContentFile(PHOTO, name="rg.png"), file_name="RG Bruna.png",
        content_type="image/png", size=len(PHOTO))
    return {"contact": contact, "conversation": conversation, "attachment": attachment}


def _zip(response: Any) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- Export ----------------------------------------------------------------------------


def test_the_export_holds_everything_and_the_files(acme: Any, member: Any, api: Any, bruna: Any) -> None:
    manager = member(acme, Role.MANAGER)
    contact, attachment = bruna["contact"], bruna["attachment"]

    response = api(manager).get(f"/api/v1/contacts/{contact.public_id}/export")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'contact-{contact.public_id}' in response["Content-Disposition"]
    archive = _zip(response)
    document = json.loads(archive.read("contact.json"))
    assert document["contact"]["name"] == "Bruna Costa" and document["contact"]["phone"] == "+5511998765432"
    assert document["contact"]["attributes"] == {"cpf": "123.456.789-00"}
    assert document["contact"]["consent"] == {"given_at": CONSENT.isoformat(), "source": "site form"}
    assert document["identities"][0]["external_id"] == "crm-contact-1"
    [conversation] = document["conversations"]
    assert [(m["direction"], m["content"], m["status"]) for m in conversation["messages"]] == [
        ("INBOUND", "Quero trocar o tamanho", "DELIVERED"), ("INBOUND", "Segue a foto do RG", "DELIVERED"),
        ("OUTBOUND", "Recebido, obrigado!", "READ")]
    assert conversation["messages"][0]["created_at"] and conversation["messages"][0]["metadata"] == {"order": "A-1"}
    [listed] = conversation["messages"][1]["attachments"]
    assert listed["file_name"] == "RG Bruna.png" and listed["size"] == len(PHOTO)
    assert archive.read(listed["file_in_export"]) == PHOTO
    assert listed["file_in_export"] == f"attachments/{attachment.public_id}/RG_Bruna.png"
    [entry] = AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.CONTACT_EXPORTED)
    assert entry.actor == manager.user and entry.target_label == "Bruna Costa"
    assert (entry.details["messages"], entry.details["files_included"]) == (3, 1)


def test_files_beyond_the_cap_are_listed_not_included(acme: Any, member: Any, api: Any, bruna: Any,
                                                     settings: Any) -> None:
    settings.LGPD_EXPORT_MAX_BYTES = 5

    response = api(member(acme, Role.MANAGER)).get(f"/api/v1/contacts/{bruna['contact'].public_id}/export")

    archive = _zip(response)
    document = json.loads(archive.read("contact.json"))
    listed = document["conversations"][0]["messages"][1]["attachments"][0]
    assert listed["file_in_export"] is None and listed["left_out"] == "size_limit"
    assert archive.namelist() == ["contact.json"]
    assert document["attachment_files"] == {"included": 0, "left_out": 1, "limit_bytes": 5}


def test_the_export_page_downloads_the_zip(acme: Any, member: Any, bruna: Any) -> None:
    client = page(member(acme, Role.TENANT_ADMIN))
    url = f"/contacts/{bruna['contact'].public_id}/lgpd/"

    shown = client.get(url)
    download = client.get(f"{url}export")

    assert shown.status_code == 200 and f'href="{url}export"' in shown.content.decode()
    assert "site form" in shown.content.decode()  # the consent
    assert download.status_code == 200 and "contact.json" in _zip(download).namelist()


def test_no_export_of_another_tenants_contact_nor_of_one_an_agent_does_not_see(
        acme: Any, globex: Any, member: Any, api: Any, api_channel: Any, bruna: Any) -> None:
    url = f"/api/v1/contacts/{bruna['contact'].public_id}/export"
    other_channel = factories.ChannelFactory(tenant=acme, kind="api")

    foreign = api(member(globex, Role.TENANT_ADMIN)).get(url)
    foreign_page = page(member(globex, Role.TENANT_ADMIN)).get(f"/contacts/{bruna['contact'].public_id}/lgpd/export")
    blind_agent = api(member(acme, Role.AGENT, channels=(other_channel,))).get(url)
    blind_page = page(member(acme, Role.AGENT, channels=(other_channel,))).get(
        f"/contacts/{bruna['contact'].public_id}/lgpd/export")
    viewer = api(member(acme, Role.VIEWER, channels=(api_channel,))).get(url)
    agent = api(member(acme, Role.AGENT, channels=(api_channel,))).get(url)

    assert (foreign.status_code, foreign_page.status_code, blind_agent.status_code, blind_page.status_code,
            viewer.status_code) == (404, 404, 404, 404, 403)
    assert agent.status_code == 200
    assert AuditEntry.all_objects.filter(action=AuditAction.CONTACT_EXPORTED).count() == 1


# --- Anonymise -------------------------------------------------------------------------


def test_anonymising_removes_the_persons_data_and_keeps_the_counts(
        acme: Any, member: Any, api: Any, bruna: Any, events: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN)
    contact, attachment = bruna["contact"], bruna["attachment"]
    stored = attachment.file.name
    assert default_storage.exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin).post(f"/api/v1/contacts/{contact.public_id}/anonymise")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["phone"], body["email"], body["attributes"]) == ("", "", "", {})
    assert body["anonymised_at"] and body["consent_at"] is None and body["picture_url"] == ""
    contact.refresh_from_db()
    assert contact.anonymised_at is not None
    with translation.override("pt-br"):
        assert str(contact) == "Contato anonimizado"
    [identity] = ContactIdentity.all_objects.filter(contact=contact)
    assert identity.external_id.startswith("anon:") and "crm-contact-1" not in identity.external_id
    messages = Message.all_objects.filter(conversation__contact=contact).order_by("id")
    assert [(m.direction, m.status, m.type, m.content) for m in messages] == [
        ("INBOUND", "DELIVERED", "TEXT", ""), ("INBOUND", "DELIVERED", "IMAGE", ""), ("OUTBOUND", "READ", "TEXT", "")]
    assert all(m.content_attributes == {"anonymised": True} and m.metadata == {} for m in messages)
    assert Conversation.all_objects.get(pk=bruna["conversation"].pk).last_message_preview == ""
    assert not Attachment.all_objects.filter(pk=attachment.pk).exists()
    assert not default_storage.exists(stored)
    [entry] = AuditEntry.all_objects.filter(tenant=acme, action=AuditAction.CONTACT_ANONYMISED)
    assert entry.actor == admin.user and "Bruna" not in entry.target_label
    assert entry.details == {"conversations": 1, "messages": 3, "attachments": 1, "identities": 1}
    assert "contact.updated" in [event.name for event in events]

    again = api(admin).post(f"/api/v1/contacts/{contact.public_id}/anonymise")
    assert again.status_code == 409 and again.json()["error"]["code"] == "contact_anonymised"
    # Nor is the person filled in again by an edit (the API or the contact's page).
    refilled = api(admin).patch(f"/api/v1/contacts/{contact.public_id}", {"name": "Bruna Costa"}, format="json")
    assert refilled.status_code == 409 and refilled.json()["error"]["code"] == "contact_anonymised"
    by_page = page(admin).post(f"/contacts/{contact.public_id}/", {"name": "Bruna Costa", "phone": "", "email": "",
                                                                   "language": "", "consent_source": ""}, follow=True)
    contact.refresh_from_db()
    assert contact.name == "" and "anonimizado" in by_page.content.decode()


def test_agents_do_not_anonymise(acme: Any, member: Any, api: Any, api_channel: Any, bruna: Any) -> None:
    agent = member(acme, Role.AGENT, channels=(api_channel,))

    by_api = api(agent).post(f"/api/v1/contacts/{bruna['contact'].public_id}/anonymise")
    by_page = page(agent).post(f"/contacts/{bruna['contact'].public_id}/lgpd/anonymise/", {"confirmation": "ANONIMIZAR"})

    assert (by_api.status_code, by_page.status_code) == (403, 403)
    bruna["contact"].refresh_from_db()
    assert bruna["contact"].anonymised_at is None and bruna["contact"].name == "Bruna Costa"


def test_the_anonymise_page_asks_for_the_word_first(acme: Any, member: Any, bruna: Any) -> None:
    client = page(member(acme, Role.TENANT_ADMIN))
    url = f"/contacts/{bruna['contact'].public_id}/lgpd/anonymise/"

    shown = client.get(url)
    wrong = client.post(url, {"confirmation": "yes"})
    bruna["contact"].refresh_from_db()
    # the tenant's language (pt-BR): the word to type is shown in it
    assert shown.status_code == 200 and "Digite ANONIMIZAR para confirmar" in shown.content.decode()
    assert wrong.status_code == 400 and bruna["contact"].anonymised_at is None

    done = client.post(url, {"confirmation": "anonimizar"})

    bruna["contact"].refresh_from_db()
    assert done.status_code == 302 and bruna["contact"].anonymised_at is not None


def test_a_later_message_from_the_same_address_makes_a_new_contact(
        acme: Any, member: Any, api: Any, api_channel: Any, bruna: Any) -> None:
    client = api(member(acme, Role.MANAGER))
    client.post(f"/api/v1/contacts/{bruna['contact'].public_id}/anonymise")

    response = client.post(f"/api/v1/channels/{api_channel.public_id}/messages", {
        "contact": {"external_id": "crm-contact-1", "name": "Bruna Costa", "phone": "11 99876-5432"},
        "content": "Oi de novo", "external_id": "crm-msg-new"}, format="json")

    assert response.status_code == 201, response.content
    message = Message.all_objects.get(public_id=response.json()["id"])
    fresh = message.conversation.contact
    assert fresh.pk != bruna["contact"].pk and fresh.anonymised_at is None and fresh.name == "Bruna Costa"
    assert message.conversation.pk != bruna["conversation"].pk
    assert Message.all_objects.filter(conversation=bruna["conversation"]).count() == 3
    assert not Message.all_objects.filter(conversation=bruna["conversation"]).exclude(content="").exists()


# --- Consent through the API --------------------------------------------------------------


def test_consent_is_shown_and_edited_through_the_api(acme: Any, member: Any, api: Any, bruna: Any) -> None:
    client = api(member(acme, Role.MANAGER))
    url = f"/api/v1/contacts/{bruna['contact'].public_id}"

    changed = client.patch(url, {"consent_at": "2026-06-01T10:00:00Z", "consent_source": "WhatsApp opt-in"},
                           format="json")
    shown = client.get(url).json()

    assert changed.status_code == 200
    assert dt.datetime.fromisoformat(shown["consent_at"]) == dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
    assert shown["consent_source"] == "WhatsApp opt-in"
    assert Contact.all_objects.get(pk=bruna["contact"].pk).consent_source == "WhatsApp opt-in"


def test_the_thread_shows_an_anonymised_message_as_removed(acme: Any, member: Any, api: Any, bruna: Any) -> None:
    admin = member(acme, Role.TENANT_ADMIN)
    api(admin).post(f"/api/v1/contacts/{bruna['contact'].public_id}/anonymise")
    message = Message.all_objects.filter(conversation=bruna["conversation"]).first()

    response = page(admin).get(f"/inbox/messages/{message.public_id}/", HTTP_HX_REQUEST="true")

    text = response.content.decode()
    assert response.status_code == 200
    assert "Conteúdo apagado (contato anonimizado)" in text and "Quero trocar" not in text
