"""/api/v1/contacts/imports and /api/v1/contacts/exports: the same imports and exports for integrators."""

from __future__ import annotations

import pytest

from accounts.models import Role
from contacts.models import Contact
from tests import factories

pytestmark = pytest.mark.django_db

CSV = "nome;telefone;e-mail\nJoão Conceição;(11) 98765-4321;joao@exemplo.com\nSem nada;;\n"


def test_an_integrator_imports_a_csv_and_reads_its_progress(acme, member, api, django_capture_on_commit_callbacks):
    client = api(member(acme, Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/contacts/imports", {"csv": CSV, "file_name": "crm.csv"}, format="json")
    job = client.get(f"/api/v1/contacts/imports/{created.json()['id']}").json()

    assert created.status_code == 202 and created.json()["status"] == "queued"
    assert created.json()["mapping"] == ["name", "phone", "email"]
    assert (job["status"], job["created_count"], job["rejected_count"]) == ("done", 1, 1)
    assert job["errors"][0]["line"] == 3 and job["errors"][0]["code"] == "no_address"
    assert Contact.all_objects.get(tenant=acme).phone == "+5511987654321"


def test_an_import_without_a_phone_or_email_column_is_refused(acme, member, api):
    client = api(member(acme, Role.MANAGER))

    refused = client.post("/api/v1/contacts/imports", {"csv": "cidade\nRecife\n"}, format="json")

    assert refused.status_code == 422 and refused.json()["error"]["code"] == "import_mapping_no_address"


def test_a_viewer_cannot_import(acme, member, api):
    refused = api(member(acme, Role.VIEWER)).post("/api/v1/contacts/imports", {"csv": CSV}, format="json")

    assert refused.status_code == 403 and not Contact.all_objects.exists()


def test_an_integrator_exports_and_downloads(acme, globex, member, api, django_capture_on_commit_callbacks):
    factories.ContactFactory(tenant=acme, name="Conceição")
    factories.ContactFactory(tenant=acme, name="Outra")
    client = api(member(acme, Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/contacts/exports", {"q": "conceicao"}, format="json")
    export_id = created.json()["id"]
    job = client.get(f"/api/v1/contacts/exports/{export_id}").json()
    download = client.get(f"/api/v1/contacts/exports/{export_id}/download")
    elsewhere = api(member(globex, Role.TENANT_ADMIN)).get(f"/api/v1/contacts/exports/{export_id}/download")

    assert created.status_code == 202 and (job["status"], job["row_count"]) == ("done", 1)
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    assert download.status_code == 200 and "Conceição" in content and "Outra" not in content
    assert elsewhere.status_code == 404
