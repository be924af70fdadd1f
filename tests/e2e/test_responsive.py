"""The inbox at a phone's width (390 px: the list, a thread, back to the list), a laptop's (1280)
and a large screen's (1920): nothing wider than the window, the panes side by side where they
fit, the tabs on one line and the list's controls inside their pane (pt-BR, the longer words);
and the contacts pages within a phone's width."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import Browser, expect

from tests.e2e.conftest import InboxServer
from tests.e2e.scene import DemoInbox, demo_inbox_create, log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

# What sticks out of the window or of its pane (the width a user would have to scroll to).
OVERFLOW = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth) out.push("page " + document.documentElement.scrollWidth);
  for (const pane of document.querySelectorAll(".list-pane, .thread-header, .reply")) {
    const box = pane.getBoundingClientRect();
    if (box.width === 0) continue;
    for (const child of pane.querySelectorAll("input, select, button, .tab, textarea")) {
      const own = child.getBoundingClientRect();
      if (own.width && !child.closest(".header-actions") && (own.right > box.right + 1 || own.left < box.left - 1)) out.push(pane.className + " > " + (child.name || child.className));
    }
  }
  return out;
}"""


@pytest.fixture
def demo(member: Any) -> DemoInbox:
    return demo_inbox_create(member=member)


async def test_on_a_phone_the_list_opens_a_thread_and_back_leads_to_the_list(
        browser: Browser, inbox_server: InboxServer, demo: DemoInbox) -> None:
    context = await browser.new_context(base_url=inbox_server.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    await log_in(page, demo.admin.user.email, "/inbox/?tab=all")
    carla = demo.conversations["Carla Castro"]
    list_pane, thread_pane = page.locator(".list-pane"), page.locator("#thread")

    await expect(list_pane).to_be_visible()
    await expect(thread_pane).to_be_hidden()
    await expect(page.locator("#rows .row")).to_have_count(len(demo.conversations))
    assert await page.evaluate(OVERFLOW) == []

    await page.locator(f"#conversation-{carla.public_id} a").tap()
    await expect(page.locator(f"#thread-{carla.public_id}")).to_be_visible()
    await expect(list_pane).to_be_hidden()
    await expect(page.locator("#reply-text")).to_be_visible()
    await expect(page.locator(".back-link")).to_be_visible()
    assert await page.evaluate(OVERFLOW) == []

    await page.locator(".back-link").tap()
    await expect(list_pane).to_be_visible()
    await expect(thread_pane).to_be_hidden()
    await expect(page.locator("#rows .row")).to_have_count(len(demo.conversations))
    await expect(page.locator("input[name=tab][value=all]")).to_be_checked()  # the same list as before
    await context.close()


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
async def test_on_a_desktop_the_panes_sit_side_by_side_and_nothing_overflows(
        browser: Browser, inbox_server: InboxServer, demo: DemoInbox, width: int, height: int) -> None:
    context = await browser.new_context(base_url=inbox_server.url, viewport={"width": width, "height": height})
    page = await context.new_page()
    carla = demo.conversations["Carla Castro"]
    await log_in(page, demo.admin.user.email, f"/inbox/c/{carla.public_id}/?tab=all")

    for pane in (".list-pane", f"#thread-{carla.public_id}", ".contact-pane"):
        await expect(page.locator(pane)).to_be_visible()
    await expect(page.locator(".back-link")).to_be_hidden()
    assert await page.evaluate(OVERFLOW) == []
    # Each tab on one line ("Sem responsável" wrapped before), the selects drawn by us.
    heights = await page.locator("#filters .tab").evaluate_all("(tabs) => tabs.map((tab) => tab.getBoundingClientRect().height)")
    assert max(heights) < 2 * min(heights) and max(heights) < 48, heights
    appearances = await page.locator("select").evaluate_all("(all) => all.map((s) => getComputedStyle(s).appearance)")
    assert set(appearances) == {"none"}
    # Every row has an avatar with the contact's initials.
    initials = await page.locator("#rows .row .avatar").all_inner_texts()
    assert sorted(initials) == sorted(["CC", "DD", "ES", "FA", "GN", "HP"])
    await context.close()


async def test_on_a_phone_the_contacts_pages_fit_the_window(
        browser: Browser, inbox_server: InboxServer, demo: DemoInbox) -> None:
    context = await browser.new_context(base_url=inbox_server.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    await log_in(page, demo.admin.user.email, "/contacts/")
    carla = await database_sync_to_async(lambda: demo.conversations["Carla Castro"].contact.public_id)()

    for path in ("/contacts/", f"/contacts/{carla}/", "/contacts/import/", "/contacts/exports/"):
        await page.goto(path)
        await expect(page.locator("main#main h1")).to_be_visible()
        assert await page.evaluate(OVERFLOW) == [], path
    await expect(page.locator("header.topbar a[href='/contacts/import/']")).to_be_visible()
    await context.close()


async def test_on_a_phone_the_alerts_and_notifications_pages_fit_the_window(
        browser: Browser, inbox_server: InboxServer, demo: DemoInbox) -> None:
    context = await browser.new_context(base_url=inbox_server.url, viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    await log_in(page, demo.admin.user.email, "/settings/alerts/")

    for path in ("/settings/alerts/", "/notifications/"):
        await page.goto(path)
        await expect(page.locator("main#main h1")).to_be_visible()
        assert await page.locator("main#main").evaluate("main => main.scrollWidth <= main.clientWidth"), path
    await context.close()
