"""A CSV of contacts imported in a real browser, under the Content-Security-Policy: an agent
goes from the inbox to the contacts, uploads a `;`-separated file as Excel writes it, maps its
columns, watches the progress page reach the end, and finds a contact without typing its accents;
and a progress page left open follows an import a worker is running to its end."""

from __future__ import annotations

import io
import re

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from contacts.imports import IMPORT_BATCH, import_job_create, import_job_map, import_job_run
from contacts.models import ImportJob
from tests.e2e.conftest import Acme
from tests.e2e.test_content_security_policy import _watched_context
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

CSV = ("\ufeffNome;Celular;E-mail;Cidade\r\n"
       "João da Conceição;(11) 98765-4321;joao@exemplo.com.br;Recife\r\n"
       "Maria Peçanha;21 99876 1234;;Niterói\r\n"
       "Sem Contato;;;Lugar Nenhum\r\n").encode()


async def test_an_agent_imports_a_csv_and_finds_the_contact_without_accents(browser, inbox_server, acme_inbox: Acme):
    context, watch = await _watched_context(browser, inbox_server)
    page = await context.new_page()
    await page.goto("/login/?next=/inbox/")
    await page.locator("input[name=email]").fill(acme_inbox.agent.user.email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form.login-card button[type=submit]").click()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "online")

    # From the inbox's top bar to the contacts, and to the import.
    await page.locator("header.topbar a[href='/contacts/']").click()
    await page.wait_for_url(re.compile(r"/contacts/$"))
    await page.locator("a[href='/contacts/import/']").first.click()
    await page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "contatos.csv", "mimeType": "text/csv", "buffer": CSV}])
    await page.locator("form.import-form button[type=submit]").click()

    # The columns, guessed from their Portuguese names; the city is kept as a custom attribute.
    await page.wait_for_url(re.compile(r"/contacts/import/[0-9a-f-]{36}/$"))
    await expect(page.locator("select[name=column_0]")).to_have_value("name")
    await expect(page.locator("select[name=column_1]")).to_have_value("phone")
    await expect(page.locator("select[name=column_2]")).to_have_value("email")
    await expect(page.locator("select[name=column_3]")).to_have_value("attribute")
    await expect(page.get_by_text("João da Conceição")).to_be_visible()
    await page.locator("form button.primary[type=submit]").click()

    # The progress page, which a reload finds again, reaches the end with the bad row listed.
    progress = page.locator("#import-progress")
    await expect(progress).to_have_attribute("data-status", "done", timeout=15_000)
    await page.reload()
    await expect(progress).to_have_attribute("data-status", "done")
    await expect(page.locator("progress")).to_have_attribute("value", "100")
    await expect(page.locator("[data-count=created]")).to_have_text("2")
    await expect(page.locator("[data-count=rejected]")).to_have_text("1")
    await expect(page.locator("table.import-errors tbody tr")).to_have_count(1)
    await expect(page.locator("table.import-errors")).to_contain_text("4")  # its line in the sheet

    # Found without its accents, with its phone as E.164 and its city.
    await page.locator("a[href='/contacts/']").last.click()
    await page.locator("input[name=q]").fill("joao conceicao")
    await page.locator("form.contact-filters button[type=submit]").click()
    rows = page.locator("table.contact-list tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("João da Conceição")
    await expect(rows).to_contain_text("+5511987654321")
    await rows.locator("a.contact-name").click()
    await expect(page.locator("dl.facts")).to_contain_text("Recife")
    watch.assert_clean()
    await context.close()


def _running_import(acme_inbox: Acme) -> ImportJob:
    """An import of 600 rows with its first batch done, as a worker leaves it mid-way."""
    rows = "telefone\n" + "".join(f"1198{i:07d}\n" for i in range(IMPORT_BATCH + 100))
    job = import_job_create(tenant=acme_inbox.tenant, actor=acme_inbox.agent.user,
                            upload=io.BytesIO(rows.encode()), file_name="grande.csv")
    job = import_job_map(job=job, actor=acme_inbox.agent.user, mapping=job.mapping)
    return import_job_run(job_pk=job.pk, batches=1)


async def test_the_progress_page_follows_a_running_import_to_its_end(browser, inbox_server, acme_inbox: Acme):
    job = await database_sync_to_async(_running_import)(acme_inbox)
    context, watch = await _watched_context(browser, inbox_server)
    page = await context.new_page()
    await page.goto(f"/login/?next=/contacts/import/{job.public_id}/")
    await page.locator("input[name=email]").fill(acme_inbox.agent.user.email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form.login-card button[type=submit]").click()

    progress = page.locator("#import-progress")
    await expect(progress).to_have_attribute("data-status", "running")
    await expect(page.locator("progress")).to_have_attribute("value", str(100 * IMPORT_BATCH // (IMPORT_BATCH + 100)))
    await database_sync_to_async(import_job_run)(job_pk=job.pk)  # the worker goes on

    # The page, left alone, polls and shows the end (no reload).
    await expect(progress).to_have_attribute("data-status", "done", timeout=10_000)
    await expect(page.locator("[data-count=created]")).to_have_text(str(IMPORT_BATCH + 100))
    await expect(page.locator("progress")).to_have_attribute("value", "100")
    watch.assert_clean()
    await context.close()
