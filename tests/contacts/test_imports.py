"""CSV imports of contacts: the file as spreadsheets write it, its columns guessed and mapped,
the rows imported in batches with progress, bad rows reported, and never a duplicate contact."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from accounts.models import AuditEntry, Role
from contacts.imports import (
    IMPORT_BATCH,
    ImportRefused,
    import_job_create,
    import_job_map,
    import_job_run,
    import_mapping_guess,
)
from contacts.models import Contact, ImportJob
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ROWS = 10_000


def _csv(rows: list[list[str]], *, delimiter: str = ",", bom: bool = False, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode(encoding)


def _job(tenant, actor, content: bytes, mapping=None, name="contatos.csv") -> ImportJob:
    job = import_job_create(tenant=tenant, actor=actor, upload=io.BytesIO(content), file_name=name)
    return import_job_map(job=job, actor=actor, mapping=mapping or job.mapping)


def _big_file() -> tuple[bytes, dict[str, int]]:
    rows = [["Nome", "Celular", "E-mail", "Cidade"]]
    bad = {"phone": 0, "email": 0, "empty": 0}
    for i in range(ROWS):
        name, phone, email = f"Pessoa {i} Conceição", f"(11) 9{80000000 + i}", f"pessoa{i}@exemplo.com.br"
        if i % 1000 == 1:
            phone, bad["phone"] = "12", bad["phone"] + 1
        elif i % 1000 == 2:
            email, bad["email"] = "nao-e-email", bad["email"] + 1
        elif i % 1000 == 3:
            phone, email, bad["empty"] = "", "", bad["empty"] + 1
        rows.append([name, phone, email, "São Paulo"])
    # The same person twice in the file, written differently: one contact.
    rows.append(["Pessoa 10 de novo", "+55 11 98000-0010", "", "Campinas"])
    return _csv(rows), bad


def test_ten_thousand_rows_import_in_batches_with_progress_and_bad_rows_reported(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    content, bad = _big_file()
    job = _job(acme, admin.user, content)
    assert job.mapping == ["name", "phone", "email", "attribute"] and job.total_rows == ROWS + 1
    uploaded = job.file.name
    assert default_storage.exists(uploaded)

    started = time.monotonic()
    job = import_job_run(job_pk=job.pk, batches=1)  # one batch: the progress page would show it
    assert (job.status, job.processed_rows) == (ImportJob.Status.RUNNING, IMPORT_BATCH)
    assert 0 < job.percent < 100
    job = import_job_run(job_pk=job.pk, batches=3)
    assert job.processed_rows == 4 * IMPORT_BATCH
    job = import_job_run(job_pk=job.pk)
    elapsed = time.monotonic() - started

    rejected = sum(bad.values())
    assert job.status == ImportJob.Status.DONE and job.processed_rows == ROWS + 1 and job.percent == 100
    assert job.rejected_count == rejected == 30
    assert job.created_count == ROWS - rejected
    assert (job.updated_count, job.unchanged_count) == (1, 0)  # the repeated row updated its contact
    assert Contact.all_objects.filter(tenant=acme).count() == ROWS - rejected
    repeated = Contact.all_objects.get(tenant=acme, phone="+5511980000010")
    assert (repeated.name, repeated.email, repeated.attributes) == (
        "Pessoa 10 de novo", "pessoa10@exemplo.com.br", {"Cidade": "Campinas"})
    codes = {(error["line"], error["column"], error["code"]) for error in job.errors}
    assert (3, "Celular", "phone_invalid") in codes  # row i=1 is on line 3 (the header is line 1)
    assert (4, "E-mail", "email_invalid") in codes
    assert (5, "", "no_address") in codes
    assert Contact.all_objects.filter(tenant=acme, search_text__contains="pessoa 42 conceicao").count() == 1
    entry = AuditEntry.all_objects.get(tenant=acme, action="contacts.imported")
    assert entry.actor == admin.user and entry.details["created"] == ROWS - rejected
    assert elapsed < 30, elapsed
    job.refresh_from_db()
    assert not job.file and not default_storage.exists(uploaded)  # the upload is not kept once imported

    again = import_job_run(job_pk=_job(acme, admin.user, content).pk)
    assert (again.created_count, again.rejected_count) == (0, rejected)
    assert Contact.all_objects.filter(tenant=acme).count() == ROWS - rejected  # no duplicate made


def test_an_existing_contact_is_matched_by_phone_then_email(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    by_phone = factories.ContactFactory(tenant=acme, name="Old", phone="+5521998765432", email="")
    by_email = factories.ContactFactory(tenant=acme, name="Mail", phone="", email="rita@exemplo.com")
    content = _csv([["name", "phone", "email"],
                    ["Novo Nome", "21 99876-5432", "novo@exemplo.com"],
                    ["Rita", "+55 31 99999-8888", "RITA@exemplo.com"]])

    job = import_job_run(job_pk=_job(acme, admin.user, content).pk)

    by_phone.refresh_from_db()
    by_email.refresh_from_db()
    assert (job.created_count, job.updated_count) == (0, 2)
    assert (by_phone.name, by_phone.email) == ("Novo Nome", "novo@exemplo.com")
    assert (by_email.name, by_email.phone) == ("Rita", "+5531999998888")
    assert Contact.all_objects.filter(tenant=acme).count() == 2


def test_semicolon_separated_utf8_with_bom_as_excel_writes_it(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    content = _csv([["Nome", "Telefone", "E-mail", "Observação"],
                    ["João Conceição", "(11) 98765-4321", "joao@exemplo.com", "cliente; antigo"]],
                   delimiter=";", bom=True)

    job = _job(acme, admin.user, content)
    job = import_job_run(job_pk=job.pk)

    assert job.headers == ["Nome", "Telefone", "E-mail", "Observação"]
    assert job.dialect["delimiter"] == ";"
    contact = Contact.all_objects.get(tenant=acme)
    assert (contact.name, contact.phone, contact.attributes) == (
        "João Conceição", "+5511987654321", {"Observação": "cliente; antigo"})


def test_windows_1252_files_are_read_too(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    content = _csv([["Nome", "Celular"], ["Conceição", "11987654321"]], delimiter=";", encoding="cp1252")

    import_job_run(job_pk=_job(acme, admin.user, content).pk)

    assert Contact.all_objects.get(tenant=acme).name == "Conceição"


def test_columns_are_guessed_from_portuguese_and_english_headers():
    assert import_mapping_guess(["Nome completo", "Telefone celular", "E-mail", "WhatsApp", "Idioma", "", "CPF"]) == [
        "name", "phone", "email", "attribute", "language", "ignore", "attribute"]


def test_a_mapping_needs_a_phone_or_an_email_column(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    job = import_job_create(tenant=acme, actor=admin.user, upload=io.BytesIO(_csv([["a", "b"], ["1", "2"]])),
                            file_name="x.csv")

    with pytest.raises(ImportRefused) as no_address:
        import_job_map(job=job, actor=admin.user, mapping=["name", "attribute"])
    with pytest.raises(ImportRefused) as twice:
        import_job_map(job=job, actor=admin.user, mapping=["phone", "phone"])

    assert (no_address.value.code, twice.value.code) == ("import_mapping_no_address", "import_mapping_twice")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING


def test_a_file_too_large_or_empty_is_refused(acme, member, settings):
    admin = member(acme, Role.TENANT_ADMIN)
    settings.CONTACT_IMPORT_MAX_BYTES = 100

    with pytest.raises(ImportRefused) as too_large:
        import_job_create(tenant=acme, actor=admin.user, upload=io.BytesIO(b"phone\n" + b"1" * 200), file_name="x")
    settings.CONTACT_IMPORT_MAX_BYTES = 10_000
    with pytest.raises(ImportRefused) as no_rows:
        import_job_create(tenant=acme, actor=admin.user, upload=io.BytesIO(b"phone\n\n"), file_name="x")

    assert (too_large.value.code, no_rows.value.code) == ("import_too_large", "import_no_rows")
    assert not ImportJob.all_objects.exists()


def test_the_import_pages_upload_map_and_show_progress(acme, member, django_capture_on_commit_callbacks):
    admin = member(acme, Role.TENANT_ADMIN)
    client = Client()
    client.post("/login/", {"email": admin.user.email, "password": PASSWORD})
    upload = io.BytesIO(_csv([["Nome", "Telefone", "Email"], ["Zé Conceição", "11987654321", "ze@exemplo.com"],
                              ["Sem nada", "", ""]], delimiter=";", bom=True))
    upload.name = "contatos.csv"

    uploaded = client.post("/contacts/import/", {"file": upload})
    job = ImportJob.all_objects.get(tenant=acme)
    mapping_page = client.get(uploaded["Location"])
    with django_capture_on_commit_callbacks(execute=True):
        mapped = client.post(uploaded["Location"], {"column_0": "name", "column_1": "phone", "column_2": "email"})
    progress = client.get(f"/contacts/import/{job.public_id}/progress/")
    rejected = client.get(f"/contacts/import/{job.public_id}/rejected.csv")
    found = client.get("/contacts/", {"q": "ze conceicao"})

    assert uploaded.status_code == 302 and uploaded["Location"] == f"/contacts/import/{job.public_id}/"
    assert mapping_page.status_code == 200 and "Zé Conceição" in mapping_page.content.decode()
    assert mapped.status_code == 302
    page = progress.content.decode()
    assert 'data-status="done"' in page and "hx-trigger" not in page  # done: the polling stops
    assert 'data-count="created">1<' in page and 'data-count="rejected">1<' in page
    assert rejected.status_code == 200 and "Sem nada" in rejected.content.decode("utf-8-sig")
    assert "Zé Conceição" in found.content.decode()


def test_a_running_import_page_polls_for_its_progress(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    rows = [["phone"]] + [[f"1198{i:07d}"] for i in range(IMPORT_BATCH + 10)]
    job = _job(acme, admin.user, _csv(rows))
    import_job_run(job_pk=job.pk, batches=1)
    client = Client()
    client.post("/login/", {"email": admin.user.email, "password": PASSWORD})

    page = client.get(f"/contacts/import/{job.public_id}/").content.decode()

    assert 'data-status="running"' in page and 'hx-trigger="every 1500ms"' in page
    assert f'<progress max="100" value="{(100 * IMPORT_BATCH) // (IMPORT_BATCH + 10)}"' in page


def test_another_tenant_cannot_see_an_import(acme, globex, member):
    admin = member(acme, Role.TENANT_ADMIN)
    job = _job(acme, admin.user, _csv([["phone"], ["11987654321"]]))
    other = member(globex, Role.TENANT_ADMIN)
    client = Client()
    client.post("/login/", {"email": other.user.email, "password": PASSWORD})

    assert client.get(f"/contacts/import/{job.public_id}/").status_code == 404
    assert client.get(f"/contacts/import/{job.public_id}/rejected.csv").status_code == 404


def test_imported_contacts_are_announced_as_contacts_made_by_hand_are(acme, member, events,
                                                                     django_capture_on_commit_callbacks):
    """Live screens and integrators' webhooks hear of every contact an import makes or changes:
    contact.created, and contact.updated with the fields it changed."""
    admin = member(acme, Role.TENANT_ADMIN)
    known = factories.ContactFactory(tenant=acme, name="Old", phone="+5521998765432", email="")
    content = _csv([["name", "phone", "email"], ["Novo Nome", "21 99876-5432", "novo@exemplo.com"],
                    ["Bia", "+55 31 99999-8888", ""], ["Caio", "", "caio@exemplo.com"]])

    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(job_pk=_job(acme, admin.user, content).pk)

    created = [event for event in events if event.name == "contact.created"]
    updated = [event for event in events if event.name == "contact.updated"]
    made = Contact.all_objects.filter(tenant=acme).exclude(pk=known.pk)
    assert sorted(event.contact_id for event in created) == sorted(str(contact.public_id) for contact in made)
    assert [(event.contact_id, event.changed) for event in updated] == [(str(known.public_id), ("email", "name"))]
