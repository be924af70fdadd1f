"""The audit log as a tenant administrator reaches it: from the settings, what the account's
people did (a login, a failed one) with who and from where, filtered by action, exported as
CSV; the retention saved with a confirmation; nothing of another tenant."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import Browser, expect

from accounts.audit import audit_record
from accounts.models import AuditAction
from tests import factories
from tests.e2e.conftest import InboxServer
from tests.e2e.scene import DemoInbox, demo_inbox_create, log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


@pytest.fixture
def demo(member: Any) -> DemoInbox:
    inbox = demo_inbox_create(member=member)
    other = factories.TenantFactory(name="Outra Loja", slug="outra")
    audit_record(tenant=other, action=AuditAction.CONTACT_DELETED, actor=None,
                 details={"name": "Cliente de outra loja"})
    return inbox


async def test_an_administrator_reads_filters_and_exports_the_audit_log(browser: Browser, inbox_server: InboxServer,
                                                                         demo: DemoInbox) -> None:
    context = await browser.new_context(base_url=inbox_server.url, locale="pt-BR", accept_downloads=True)
    page = await context.new_page()
    # A wrong password first: it is in the log too.
    await page.goto("/login/")
    await page.locator("input[name=email]").fill(demo.admin.user.email)
    await page.locator("input[name=password]").fill("not the password")
    await page.locator("form.login-card button[type=submit]").click()
    await expect(page.locator("[role=alert]").first).to_be_visible()
    await log_in(page, demo.admin.user.email, "/settings/channels/")

    await page.get_by_role("navigation", name="Configurações").get_by_role("link", name="Auditoria").click()
    await page.wait_for_url("**/settings/audit/")
    rows = page.locator("table.audit-list tbody tr")
    await expect(rows.filter(has_text="login.succeeded")).to_have_count(1)
    await expect(rows.filter(has_text="login.failed")).to_have_count(1)
    await expect(rows.filter(has_text="login.succeeded")).to_contain_text("127.0.0.1")
    await expect(page.locator("table.audit-list")).not_to_contain_text("Cliente de outra loja")

    await page.get_by_label("Ação").select_option("login.failed")
    await page.get_by_role("button", name="Filtrar").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("login.failed")

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Exportar CSV").click()
    download = await waiting.value
    exported = (await download.path()).read_text(encoding="utf-8-sig")
    assert "login.failed" in exported and "login.succeeded" not in exported

    await page.get_by_label("Manter a auditoria por (dias)").fill("90")
    await page.get_by_role("button", name="Salvar").click()
    await expect(page.locator(".toast[role=status]")).to_be_visible()
    await database_sync_to_async(demo.tenant.refresh_from_db)()
    assert demo.tenant.audit_retention_days == 90
    await context.close()
