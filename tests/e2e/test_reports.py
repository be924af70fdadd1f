"""The reports page as a manager reaches it: from the inbox's top bar, its charts drawn (bars,
lines, the busiest hours), narrowed to a channel, and a table downloaded as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db.models import Min
from playwright.async_api import Browser, expect

from conversations.models import Conversation, Message
from conversations.reports.aggregates import report_rebuild
from conversations.services import conversation_update
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
    for conversation in inbox.conversations.values():  # opened when its first message came (the scene dates them)
        first = Message.all_objects.filter(conversation=conversation).aggregate(first=Min("created_at"))["first"]
        Conversation.all_objects.filter(pk=conversation.pk).update(created_at=first)
    for conversation in list(inbox.conversations.values())[:3]:  # answered, then resolved now
        conversation_update(conversation=conversation, actor=inbox.admin.user, status=Conversation.Status.RESOLVED)
    report_rebuild(tenant=inbox.tenant)  # the scene's history is dated in the past
    return inbox


async def test_a_manager_reads_the_reports_and_downloads_a_csv(browser: Browser, inbox_server: InboxServer,
                                                              demo: DemoInbox) -> None:
    context = await browser.new_context(base_url=inbox_server.url, locale="pt-BR", accept_downloads=True)
    page = await context.new_page()
    await log_in(page, demo.admin.user.email, "/inbox/")

    await page.get_by_role("link", name="Relatórios").click()
    await page.wait_for_url("**/reports/")
    await expect(page.get_by_role("heading", name="Relatórios", exact=True)).to_be_visible()
    # The charts are drawn: bars with height, lines, and a cell for every weekday and hour.
    messages = page.locator("[data-chart=messages] svg.chart")
    await expect(messages).to_be_visible()
    assert await messages.locator("rect[height]:not([height='0.0']):not([height='0'])").count() > 0
    await expect(page.locator("[data-chart=first_response] svg circle.chart-dot").first).to_be_attached()
    await expect(page.locator("[data-chart=busiest_hours] rect.heat")).to_have_count(7 * 24)
    assert await page.locator("[data-chart=busiest_hours] rect.heat:not(.heat-0)").count() > 0
    await expect(page.locator("[data-figure=messages_in]")).not_to_have_text("0")
    await expect(page.locator("#table-agents")).to_have_text("Desempenho dos agentes")
    await expect(page.locator("section:has(#table-agents) table")).to_contain_text("Mariana Costa")

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Baixar CSV (por período)").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("report-series-")
    rows = list(csv.reader(io.StringIO((await download.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "Início do período" and len(rows) == 31  # the header and 30 days
    assert sum(int(row[3]) for row in rows[1:]) > 0  # messages in

    # Narrowed to the API channel: its figures only.
    await page.locator("select[name=channel]").select_option(label="Loja online (API)")
    await page.get_by_role("button", name="Mostrar").click()
    await page.wait_for_url("**/reports/?*channel=*")
    await expect(page.locator("table.report-table").first).not_to_contain_text("WhatsApp Vendas")
    await context.close()
