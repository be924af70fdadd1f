"""Screenshots of the inbox, a thread, the channel settings and the login, in pt-BR and English,
light and dark, on a desktop (1280x800) and a phone (390x844), for people to look at (they are
not compared pixel by pixel). Saved under screenshots/ (git-ignored); docs/screenshots/ keeps
four of them for the README, copied by hand from there when the look changes."""

from __future__ import annotations

from pathlib import Path
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

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
DEVICES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"pt-BR": "pt-br", "en": "en"}


@pytest.fixture
def demo(member: Any) -> DemoInbox:
    return demo_inbox_create(member=member)


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_screenshots_of_every_page_in_both_themes_on_desktop_and_phone(
        browser: Browser, inbox_server: InboxServer, demo: DemoInbox, language: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await database_sync_to_async(demo.set_language)(LANGUAGES[language])
    carla, diego = demo.conversations["Carla Castro"], demo.conversations["Diego Dias"]
    taken = []
    for device, viewport in DEVICES.items():
        context = await browser.new_context(base_url=inbox_server.url, viewport=viewport, locale=language,
                                            is_mobile=device == "phone", device_scale_factor=1)
        await context.add_cookies([{"name": "django_language", "value": LANGUAGES[language], "url": inbox_server.url}])
        page = await context.new_page()
        pages = {
            "login": "/login/",
            # On a desktop the inbox shows a conversation beside the list; on a phone, the list.
            "inbox": f"/inbox/c/{diego.public_id}/?tab=all" if device == "desktop" else "/inbox/?tab=all",
            "thread": f"/inbox/c/{carla.public_id}/?tab=all",
            "settings": "/settings/channels/",
        }
        for name, path in pages.items():
            if name == "inbox":
                await log_in(page, demo.admin.user.email, path)
            else:
                await page.goto(path)
            if name in ("inbox", "thread"):
                await expect(page.locator("#connection")).to_have_attribute("data-state", "online")
            await page.wait_for_timeout(500)  # the rows' live refreshes after the socket resumed
            for scheme in ("light", "dark"):
                await page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
                await page.wait_for_timeout(300)  # transitions end
                file = SCREENSHOTS / f"{name}-{device}-{scheme}-{language}.png"
                await page.screenshot(path=str(file))
                taken.append(file)
        await context.close()

    assert len(taken) == 16 and all(file.stat().st_size > 10_000 for file in taken)
