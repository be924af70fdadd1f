"""The contacts pages through Django's test client: the list (search, filters, keyset pages at
a constant query count), a contact (its conversations, its edit form), who sees what."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from contacts.models import Contact, ExportJob
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(member) -> Client:
    client = Client()
    response = client.post("/login/", {"email": member.user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def _ids(response) -> list[str]:
    return re.findall(r'href="/contacts/([0-9a-f-]{36})/"', response.content.decode())


def test_the_list_searches_without_accents(acme, member):
    factories.ContactFactory(tenant=acme, name="Conceição Araújo", phone="+5511987654321")
    factories.ContactFactory(tenant=acme, name="Pedro")
    client = _login(member(acme, Role.MANAGER))

    found = client.get("/contacts/", {"q": "conceicao araujo"})
    by_digits = client.get("/contacts/", {"q": "(11) 98765"})
    none = client.get("/contacts/", {"q": "ninguem"})

    assert found.status_code == 200 and "Conceição Araújo" in found.content.decode()
    assert "Pedro" not in found.content.decode()
    assert "Conceição Araújo" in by_digits.content.decode()
    assert "empty-state" in none.content.decode()


def test_the_list_filters_by_channel_and_phone(acme, member):
    channel = factories.ChannelFactory(tenant=acme, name="Vendas")
    on_channel = factories.ContactIdentityFactory(contact__tenant=acme, contact__name="Canal", channel=channel).contact
    no_phone = factories.ContactFactory(tenant=acme, name="Sem Telefone", phone="")
    client = _login(member(acme, Role.MANAGER))

    by_channel = _ids(client.get("/contacts/", {"channel": str(channel.public_id)}))
    without_phone = _ids(client.get("/contacts/", {"has_phone": "no"}))

    assert by_channel == [str(on_channel.public_id)]
    assert without_phone == [str(no_phone.public_id)]


def test_keyset_pages_neither_repeat_nor_skip_and_cost_the_same(acme, member):
    channel = factories.ChannelFactory(tenant=acme)
    for _ in range(23):
        factories.ContactIdentityFactory(contact__tenant=acme, channel=channel)
    client = _login(member(acme, Role.MANAGER))
    from contacts import views
    views.PAGE_SIZE, size = 5, views.PAGE_SIZE
    try:
        seen: list[str] = []
        url = "/contacts/"
        queries: list[int] = []
        while url:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            seen += _ids(response)
            queries.append(len(captured))
            older = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
            url = "/contacts/" + older.group(1).replace("&amp;", "&") if older else ""
        back = re.search(r'rel="prev" href="([^"]+)"', response.content.decode())
        previous = _ids(client.get("/contacts/" + back.group(1).replace("&amp;", "&")))
    finally:
        views.PAGE_SIZE = size

    expected = [str(public_id) for public_id in
                Contact.all_objects.filter(tenant=acme).order_by("-public_id").values_list("public_id", flat=True)]
    assert len(queries) == 5 and len(set(queries)) == 1, queries  # the last page costs what the first does
    assert not any("COUNT(" in query["sql"].upper() or "OFFSET" in query["sql"].upper()
                   for query in captured.captured_queries)
    assert seen == expected  # every contact once, newest first
    assert previous == expected[15:20]


def test_an_agent_sees_only_the_contacts_of_its_channels(acme, member):
    mine, other = factories.ChannelFactory(tenant=acme), factories.ChannelFactory(tenant=acme)
    visible = factories.ContactIdentityFactory(contact__tenant=acme, contact__name="Meu", channel=mine).contact
    hidden = factories.ContactIdentityFactory(contact__tenant=acme, contact__name="Alheio", channel=other).contact
    client = _login(member(acme, Role.AGENT, channels=(mine,)))

    listed = _ids(client.get("/contacts/"))

    assert str(visible.public_id) in listed and str(hidden.public_id) not in listed
    assert client.get(f"/contacts/{hidden.public_id}/").status_code == 404
    assert client.get(f"/contacts/{visible.public_id}/").status_code == 200


def test_another_tenants_contact_is_not_found(acme, globex, member):
    theirs = factories.ContactFactory(tenant=globex, name="Globex Person")
    client = _login(member(acme, Role.TENANT_ADMIN))

    assert client.get(f"/contacts/{theirs.public_id}/").status_code == 404
    assert client.get(f"/contacts/{uuid.uuid4()}/").status_code == 404
    assert client.post(f"/contacts/{theirs.public_id}/", {"name": "x"}).status_code == 404
    assert "Globex Person" not in client.get("/contacts/", {"q": "globex"}).content.decode()


def test_the_contact_page_lists_its_conversations_across_channels(acme, member):
    whatsapp = factories.ChannelFactory(tenant=acme, name="WhatsApp", kind="whatsapp_cloud")
    email = factories.ChannelFactory(tenant=acme, name="Email", kind="email")
    contact = factories.ContactFactory(tenant=acme, name="Rita")
    first = factories.ConversationFactory(tenant=acme, channel=whatsapp, contact=contact)
    second = factories.ConversationFactory(tenant=acme, channel=email, contact=contact)
    client = _login(member(acme, Role.MANAGER))

    page = client.get(f"/contacts/{contact.public_id}/").content.decode()

    assert f"/inbox/c/{first.public_id}/" in page and f"/inbox/c/{second.public_id}/" in page
    assert 'class="cluster contact-actions"' in page
    assert f"/contacts/{contact.public_id}/merge/" in page and f"/contacts/{contact.public_id}/lgpd/" in page


def test_editing_a_contact_normalises_and_reports_errors_in_the_users_language(acme, member):
    contact = factories.ContactFactory(tenant=acme, name="Rita", phone="", email="")
    client = _login(member(acme, Role.TENANT_ADMIN, language="pt-br"))
    english = _login(member(acme, Role.TENANT_ADMIN, language="en"))

    bad = client.post(f"/contacts/{contact.public_id}/", {"name": "Rita", "phone": "123", "email": "nope"})
    bad_in_english = english.post(f"/contacts/{contact.public_id}/", {"name": "Rita", "email": "nope"})
    good = client.post(f"/contacts/{contact.public_id}/", {
        "name": "Rita Lee", "phone": "(11) 98765-4321", "email": "Rita@Exemplo.com", "language": "pt-BR",
        "consent_at": "2026-01-02T10:30", "consent_source": "site"}, follow=True)

    assert bad.status_code == 400 and bad_in_english.status_code == 400
    assert "Informe um endereço de email válido." in bad.content.decode()
    assert "Enter a valid email address." in bad_in_english.content.decode()
    contact.refresh_from_db()
    assert good.status_code == 200
    assert (contact.name, contact.phone, contact.email, contact.consent_source) == (
        "Rita Lee", "+5511987654321", "rita@exemplo.com", "site")
    assert contact.consent_at is not None
    assert "Contato salvo." in good.content.decode()


def test_a_viewer_reads_contacts_but_cannot_edit_or_import(acme, member):
    contact = factories.ContactFactory(tenant=acme, name="Rita")
    client = _login(member(acme, Role.VIEWER))

    page = client.get(f"/contacts/{contact.public_id}/")
    edit = client.post(f"/contacts/{contact.public_id}/", {"name": "Changed"})
    imports = client.get("/contacts/import/")

    assert page.status_code == 200 and 'id="edit"' not in page.content.decode()
    assert edit.status_code == 403 and imports.status_code == 403
    contact.refresh_from_db()
    assert contact.name == "Rita"


def test_the_inbox_links_to_the_contacts_and_to_a_contacts_page(acme, member):
    channel = factories.ChannelFactory(tenant=acme)
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    client = _login(member(acme, Role.AGENT, channels=(channel,)))

    assert 'href="/contacts/"' in client.get("/inbox/").content.decode()
    panel = client.get(f"/inbox/contacts/{conversation.contact.public_id}/").content.decode()
    assert f'href="/contacts/{conversation.contact.public_id}/"' in panel


def test_filters_that_cannot_be_read_match_nothing_and_export_nothing(acme, member):
    factories.ContactFactory(tenant=acme, name="Rita")
    client = _login(member(acme, Role.TENANT_ADMIN))

    listed = client.get("/contacts/", {"channel": "not-a-channel"})
    exported = client.post("/contacts/export/", {"since": "yesterday"})

    assert _ids(listed) == [] and "inline-error" in listed.content.decode()
    assert exported.status_code == 302 and exported["Location"] == "/contacts/"
    assert not ExportJob.all_objects.exists()
