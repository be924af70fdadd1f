"""The conversation list's tabs and what sits under the list: each tab's count is shown once,
and it follows what agents do and what arrives live (see conftest.py for the scene)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from conversations.models import Conversation
from tests.e2e.conftest import Acme

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


@database_sync_to_async
def _assign_both_to(acme_inbox: Acme) -> None:
    Conversation.all_objects.filter(pk__in=[acme_inbox.carla.pk, acme_inbox.diego.pk]).update(
        assignee=acme_inbox.agent.user)


async def test_the_list_shows_no_stray_numbers_and_each_count_once(acme_inbox, open_inbox):
    ana = await open_inbox(acme_inbox.agent, "/inbox/?tab=all")
    page = ana.page

    await expect(page.locator("#rows .row")).to_have_count(2)
    for tab in ("mine", "unassigned", "all"):
        await expect(page.locator(f"[id=count-{tab}]")).to_have_count(1)
    # Under the list only rows: no count (or any other text) outside them.
    stray = await page.evaluate(
        "[...document.querySelector('#rows').childNodes].filter((node) => !(node.nodeType === 1"
        " && node.matches('li'))).map((node) => node.textContent.trim()).filter(Boolean)")
    assert stray == []
    await expect(page.locator("#count-all")).to_have_text("2")


async def test_tab_counts_follow_an_action_and_a_live_conversation(acme_inbox, open_inbox, customers):
    await _assign_both_to(acme_inbox)
    ana = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=mine")
    page = ana.page
    await expect(page.locator("#count-mine")).to_have_text("2")
    await expect(page.locator("#count-all")).to_have_text("2")

    # Resolving the open conversation: it leaves the open list, and "Mine" counts one.
    await page.locator("[data-shortcut=resolve]").click()
    await expect(page.locator("[data-shortcut=reopen]")).to_be_visible()
    await expect(page.locator("#count-mine")).to_have_text("1")
    await expect(page.locator("#count-all")).to_have_text("1")

    # A new customer writes: a new unassigned conversation, counted live.
    customer = await customers(acme_inbox.token, acme_inbox.channel)
    await customer.write("crm-elisa", "Vocês entregam no sábado?", name="Elisa Souza")
    await expect(page.locator("#count-all")).to_have_text("2")
    await expect(page.locator("#count-unassigned")).to_have_text("1")
    await expect(page.locator("#count-mine")).to_have_text("1")
    await ana.assert_not_reloaded()
