"""The login page, and Django's own error pages, speak the product's language (Brazilian
Portuguese) to a browser set to English, until the person chooses English on the page; the
choice sticks."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import InboxServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


async def test_an_english_browser_sees_portuguese_until_it_chooses_english(browser: Browser,
                                                                           inbox_server: InboxServer) -> None:
    context = await browser.new_context(base_url=inbox_server.url, locale="en-US")
    page = await context.new_page()

    await page.goto("/login/")
    await expect(page.locator("h1")).to_have_text("Entrar na caixa de entrada")
    await expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    missing = await page.goto("/no-such-page/")
    assert missing is not None and missing.status == 404
    await expect(page.locator("main")).to_contain_text("Página não encontrada")

    await page.goto("/login/?next=/inbox/")
    await page.get_by_role("button", name="English").click()

    await expect(page.locator("h1")).to_have_text("Log in to the inbox")
    assert page.url.endswith("/login/?next=/inbox/")
    await expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    await page.goto("/no-such-page/")
    await expect(page.locator("main")).to_contain_text("Page not found")
    await page.goto("/login/")
    await expect(page.locator("h1")).to_have_text("Log in to the inbox")

    await page.get_by_role("button", name="Português Brasileiro").click()
    await expect(page.locator("h1")).to_have_text("Entrar na caixa de entrada")
    await context.close()
