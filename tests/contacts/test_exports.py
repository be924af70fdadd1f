"""CSV exports of contacts: written by a task with the list's filters, listed, downloaded only
by those who may, and audited."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from accounts.models import AuditEntry, Role
from contacts.models import ExportJob
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    client.post("/login/", {"email": membership.user.email, "password": PASSWORD})
    return client


def _rows(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))


def _export(client, django_capture_on_commit_callbacks, **filters) -> ExportJob:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/contacts/export/", filters)
    assert response.status_code == 302 and response["Location"] == "/contacts/exports/"
    return ExportJob.all_objects.order_by("-pk").first()


def test_an_export_writes_the_filtered_contacts_and_is_downloaded(acme, member, django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme, name="Vendas")
    factories.ContactIdentityFactory(contact__tenant=acme, contact__name="João Conceição",
                                     contact__attributes={"cidade": "Recife"}, channel=channel)
    factories.ContactFactory(tenant=acme, name="=HYPERLINK(\"http://evil\")", phone="")
    factories.ContactFactory(tenant=acme, name="Outro")
    admin = member(acme, Role.TENANT_ADMIN)
    client = _login(admin)

    everything = _export(client, django_capture_on_commit_callbacks)
    searched = _export(client, django_capture_on_commit_callbacks, q="joao conceicao")
    listed = client.get("/contacts/exports/").content.decode()
    rows = _rows(client.get(f"/contacts/exports/{everything.public_id}/download/"))
    found = _rows(client.get(f"/contacts/exports/{searched.public_id}/download/"))

    assert (everything.status, everything.row_count, searched.row_count) == ("done", 3, 1)
    assert f"/contacts/exports/{searched.public_id}/download/" in listed
    assert [row["name"] for row in found] == ["João Conceição"]
    assert (found[0]["channels"], found[0]["attributes"]) == ("Vendas", '{"cidade": "Recife"}')
    assert found[0]["phone"].startswith("+55")
    assert "'=HYPERLINK(\"http://evil\")" in [row["name"] for row in rows]  # never a formula
    entries = AuditEntry.all_objects.filter(tenant=acme, action="export.created")
    assert entries.count() == 2 and entries.filter(details__filters={"text": "joao conceicao"}).exists()


def test_an_agent_exports_only_the_contacts_it_sees(acme, member, django_capture_on_commit_callbacks):
    mine, other = factories.ChannelFactory(tenant=acme), factories.ChannelFactory(tenant=acme)
    factories.ContactIdentityFactory(contact__tenant=acme, contact__name="Meu", channel=mine)
    factories.ContactIdentityFactory(contact__tenant=acme, contact__name="Alheio", channel=other)
    client = _login(member(acme, Role.AGENT, channels=(mine,)))

    job = _export(client, django_capture_on_commit_callbacks)
    names = [row["name"] for row in _rows(client.get(f"/contacts/exports/{job.public_id}/download/"))]

    assert names == ["Meu"]


def test_a_download_is_refused_to_another_tenant_and_to_another_agent(acme, globex, member,
                                                                      django_capture_on_commit_callbacks):
    factories.ContactFactory(tenant=acme, name="Segredo")
    agent = member(acme, Role.AGENT)
    job = _export(_login(agent), django_capture_on_commit_callbacks)
    url = f"/contacts/exports/{job.public_id}/download/"

    other_tenant = _login(member(globex, Role.TENANT_ADMIN)).get(url)
    other_agent = _login(member(acme, Role.AGENT)).get(url)
    admin = _login(member(acme, Role.TENANT_ADMIN)).get(url)
    anonymous = Client().get(url)

    assert other_tenant.status_code == 404 and other_agent.status_code == 404
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert admin.status_code == 200 and [row["name"] for row in _rows(admin)] == ["Segredo"]
    assert job.file.name.startswith("contacts/transfers/") and str(job.public_id) in job.file.name


def test_a_running_export_list_polls(acme, member):
    admin = member(acme, Role.TENANT_ADMIN)
    ExportJob.all_objects.create(tenant=acme, created_by=admin.user)

    page = _login(admin).get("/contacts/exports/").content.decode()

    assert 'hx-trigger="every 2s"' in page


def test_old_exports_and_imports_are_deleted_with_their_files(acme, member, settings,
                                                               django_capture_on_commit_callbacks):
    import datetime as dt

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from contacts.models import ImportJob
    from contacts.tasks import contact_transfers_purge_task

    factories.ContactFactory(tenant=acme, name="Rita")
    client = _login(member(acme, Role.TENANT_ADMIN))
    old, recent = (_export(client, django_capture_on_commit_callbacks) for _ in range(2))
    stale_import = ImportJob.all_objects.create(tenant=acme)
    long_ago = timezone.now() - dt.timedelta(days=settings.CONTACT_TRANSFER_DAYS + 1)
    ExportJob.all_objects.filter(pk=old.pk).update(created_at=long_ago)
    ImportJob.all_objects.filter(pk=stale_import.pk).update(created_at=long_ago)

    removed = contact_transfers_purge_task()

    assert removed == 2
    assert list(ExportJob.all_objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ImportJob.all_objects.exists()
    assert not default_storage.exists(old.file.name) and default_storage.exists(recent.file.name)
    assert client.get(f"/contacts/exports/{old.public_id}/download/").status_code == 404
