"""Finding contacts as people type them: accent- and case-insensitive, phones by any run of
their digits, on SQLite and PostgreSQL alike (run this file with DATABASE_URL too)."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Role
from contacts.models import Contact
from contacts.search import search_fold, search_terms, search_text_for
from contacts.selectors import contact_search_q
from contacts.services import contact_create, contact_update
from tests import factories

pytestmark = pytest.mark.django_db


def _found(tenant, text):
    return set(Contact.all_objects.filter(tenant=tenant).filter(contact_search_q(tenant=tenant, text=text))
               .values_list("name", flat=True))


@pytest.fixture
def people(acme):
    for name, phone, email in [("João da Silva", "+55 11 98765-4321", "joao@exemplo.com.br"),
                               ("Maria da Conceição", "(21) 99876-1234", "MARIA@Exemplo.com"),
                               ("Ana Lúcia Peçanha", "", "ana@exemplo.com")]:
        contact_create(tenant=acme, actor=None, name=name, phone=phone, email=email)
    return acme


def test_folding_removes_accents_and_case():
    assert search_fold("  Conceição  PEÇANHA ") == "conceicao pecanha"
    assert search_text_for(name="João", phone="+5511987654321", email="J@X.COM") == "joao j@x.com 5511987654321"
    assert search_terms("+55 (11) 98765-4321") == ["5511987654321"]
    assert search_terms("Joao  Silva") == ["joao", "silva"]


@pytest.mark.parametrize(("text", "expected"), [
    ("joao", {"João da Silva"}),
    ("JOÃO", {"João da Silva"}),
    ("conceicao", {"Maria da Conceição"}),
    ("maria conceicao", {"Maria da Conceição"}),
    ("pecanha", {"Ana Lúcia Peçanha"}),
    ("lucia", {"Ana Lúcia Peçanha"}),
    ("da", {"João da Silva", "Maria da Conceição"}),
    ("maria@exemplo", {"Maria da Conceição"}),
    ("exemplo.com", {"João da Silva", "Maria da Conceição", "Ana Lúcia Peçanha"}),
    ("joao silva nobody", set()),
])
def test_accent_insensitive_search(people, text, expected):
    assert _found(people, text) == expected


@pytest.mark.parametrize("text", ["98765", "9876-5432", "(11) 98765", "+55 11 98765-4321", "5511987654321",
                                  "11987654321", "4321"])
def test_partial_phone_search_in_any_writing(people, text):
    assert "João da Silva" in _found(people, text)


def test_a_renamed_contact_is_found_by_its_new_name(people):
    joao = Contact.all_objects.get(tenant=people, name="João da Silva")
    contact_update(contact=joao, actor=None, name="Sebastião Araújo")

    assert _found(people, "sebastiao araujo") == {"Sebastião Araújo"}
    assert _found(people, "silva") == set()


def test_nothing_searchable_finds_nothing(people):
    assert _found(people, "\u0301") == set()


def test_search_never_finds_another_tenants_contacts(people, globex):
    factories.ContactFactory(tenant=globex, name="João Globex")

    assert _found(people, "joao") == {"João da Silva"}


def test_the_api_search_is_accent_insensitive(people, member, api):
    client = api(member(people, Role.TENANT_ADMIN))

    by_q = client.get("/api/v1/contacts", {"q": "conceicao"}).json()["results"]
    by_search = client.get("/api/v1/contacts", {"search": "JOAO"}).json()["results"]

    assert [c["name"] for c in by_q] == ["Maria da Conceição"]
    assert [c["name"] for c in by_search] == ["João da Silva"]



def test_postgresql_serves_the_search_from_a_trigram_index():
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's (run with DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'contact_search_trgm'")
        (definition,) = cursor.fetchone()

    assert "gin" in definition and "search_text gin_trgm_ops" in definition


def test_the_migration_fills_the_search_text_of_existing_contacts(acme, monkeypatch):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("contacts.migrations.0004_search_text")
    contact = factories.ContactFactory(tenant=acme, name="Conceição", phone="+5511987654321", email="C@X.COM")
    Contact.all_objects.filter(pk=contact.pk).update(search_text="")  # as a row from before the column

    class Editor:
        connection = connection

    monkeypatch.setattr(migration, "BATCH", 1)  # batches of one: the loop goes on past the first
    migration.fill_search_text(apps, Editor())

    contact.refresh_from_db()
    assert contact.search_text == search_text_for(name="Conceição", phone="+5511987654321", email="C@X.COM")
    assert _found(acme, "conceicao") == {"Conceição"}


def test_an_anonymised_contact_is_no_longer_found_by_its_old_details(people):
    from contacts.lgpd import contact_anonymise

    joao = Contact.all_objects.get(tenant=people, name="João da Silva")
    contact_anonymise(contact=joao, actor=None)

    assert _found(people, "joao") == set() and _found(people, "98765") == set()
