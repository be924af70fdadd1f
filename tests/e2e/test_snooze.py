"""Snoozing a conversation in the page's language: quick choices, or a date and time typed as
the language writes it (dd/mm/aaaa hh:mm in Portuguese, mm/dd/yyyy hh:mm in English) and read in
the tenant's time zone, whatever the browser's locale; a time that cannot be read or has passed
is refused in the member's language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import Page, expect

from accounts.models import User
from conversations.models import Conversation
from tests.e2e.conftest import Acme, OpenInbox

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def _snoozed_until(conversation: Conversation) -> dt.datetime | None:
    return Conversation.all_objects.get(pk=conversation.pk).snoozed_until


async def _open_snooze(page: Page) -> None:
    if not await page.locator("#thread-header .snooze-editor").evaluate("(details) => details.open"):
        await page.locator("#thread-header .snooze-editor summary").click()


async def _snooze_typing(page: Page, text: str) -> None:
    await _open_snooze(page)
    field = page.locator("#thread-header input[name=snoozed_until]")
    await field.fill(text)
    await field.press("Enter")


async def test_a_portuguese_member_snoozes_with_brazilian_dates_in_the_tenants_time_zone(
        acme_inbox: Acme, open_inbox: OpenInbox) -> None:
    await database_sync_to_async(User.objects.filter(pk=acme_inbox.agent.user.pk).update)(language="pt-br")
    agent = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all")
    page = agent.page
    header = page.locator("#thread-header")
    await _open_snooze(page)
    await expect(header.locator("input[name=snoozed_until]")).to_have_attribute("placeholder", "dd/mm/aaaa hh:mm")
    await expect(header.locator("input[type=datetime-local]")).to_have_count(0)

    await _snooze_typing(page, "31/31/2030 10:00")
    await expect(page.locator("#header-error")).to_contain_text("digite a data e a hora como")
    await _snooze_typing(page, "01/02/2020 10:00")
    await expect(page.locator("#header-error")).to_contain_text("já passou")
    assert await database_sync_to_async(_snoozed_until)(acme_inbox.carla) is None

    day = dt.datetime.now(SAO_PAULO).date() + dt.timedelta(days=12)  # a day whose number is above 12
    day = day if day.day > 12 else day + dt.timedelta(days=13 - day.day)
    await _snooze_typing(page, f"{day:%d/%m/%Y} 14:30")

    await expect(header.locator(".status-pill")).to_have_text("Adiada")
    await expect(header).to_contain_text(f"até {day:%d/%m/%Y} 14:30")
    until = await database_sync_to_async(_snoozed_until)(acme_inbox.carla)
    assert until == dt.datetime.combine(day, dt.time(14, 30), tzinfo=SAO_PAULO)

    await _open_snooze(page)
    await header.get_by_role("button", name="Amanhã às 9h").click()
    tomorrow = dt.datetime.now(SAO_PAULO).date() + dt.timedelta(days=1)
    await expect(header).to_contain_text(f"até {tomorrow:%d/%m/%Y} 09:00")
    await agent.assert_not_reloaded()


async def test_an_english_member_types_american_dates(acme_inbox: Acme, open_inbox: OpenInbox) -> None:
    await database_sync_to_async(User.objects.filter(pk=acme_inbox.agent.user.pk).update)(language="en")
    agent = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.diego.public_id}/?tab=all")
    page = agent.page
    await _open_snooze(page)
    await expect(page.locator("#thread-header input[name=snoozed_until]")).to_have_attribute(
        "placeholder", "mm/dd/yyyy hh:mm")
    day = dt.datetime.now(SAO_PAULO).date() + dt.timedelta(days=12)
    day = day if day.day > 12 else day + dt.timedelta(days=13 - day.day)

    await _snooze_typing(page, f"{day:%m/%d/%Y} 08:15")

    await expect(page.locator("#thread-header .status-pill")).to_have_text("Snoozed")
    until = await database_sync_to_async(_snoozed_until)(acme_inbox.diego)
    assert until == dt.datetime.combine(day, dt.time(8, 15), tzinfo=SAO_PAULO)
