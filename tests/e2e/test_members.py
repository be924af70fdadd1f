"""Inviting a colleague in a real browser, under the Content-Security-Policy: an administrator
invites them from Settings → Members (an agent, with a channel), the link arrives at a real SMTP
server, the colleague opens it, sets a name and a password, and lands in the inbox, online."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from accounts.models import Membership, Role
from tests.accounts.conftest import Mailbox, smtp_server  # noqa: F401 - the fixture
from tests.e2e.conftest import Acme
from tests.e2e.scene import log_in
from tests.e2e.test_content_security_policy import _watched_context

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]
PASSWORD = "Caju-Azul-Marte-27"


async def _link(mailbox: Mailbox, base_url: str) -> str:
    for _ in range(100):
        if mailbox.messages:
            return mailbox.link(base_url)
        await asyncio.sleep(0.05)
    raise AssertionError("no invitation arrived")


async def test_an_admin_invites_a_colleague_who_sets_a_password_and_lands_in_the_inbox(
        browser: Any, inbox_server: Any, acme_inbox: Acme, member: Any, smtp_server: Mailbox,  # noqa: F811
        settings: Any) -> None:
    settings.PUBLIC_BASE_URL = inbox_server.url
    admin = await database_sync_to_async(member)(acme_inbox.tenant, Role.TENANT_ADMIN, full_name="Ada Admin")
    context, watch = await _watched_context(browser, inbox_server)
    page = await context.new_page()

    await log_in(page, admin.user.email, "/inbox/")
    await page.goto("/settings/members/")
    invite = page.locator("form.invite-form")
    await invite.locator("input[name=email]").fill("bia@example.test")
    await invite.locator("select[name=role]").select_option(Role.AGENT)
    await invite.locator(f"input[name=channels][value='{acme_inbox.channel.public_id}']").check()
    await invite.locator("button[type=submit]").click()
    await expect(page.locator(".toast.flash-success")).to_contain_text("bia@example.test")
    await expect(page.locator(".invitation-list")).to_contain_text("bia@example.test")

    link = await _link(smtp_server, inbox_server.url)
    colleague, colleague_watch = await _watched_context(browser, inbox_server)
    invited = await colleague.new_page()
    await invited.goto(link)
    await invited.locator("input[name=full_name]").fill("Bia Nova")
    await invited.locator("input[name=new_password1]").fill(PASSWORD)
    await invited.locator("input[name=new_password2]").fill(PASSWORD)
    await invited.locator("form.login-card button[type=submit]").click()

    await invited.wait_for_url("**/inbox/*")
    await expect(invited.locator("#connection")).to_have_attribute("data-state", "online")
    await invited.goto("/inbox/?tab=all")
    await expect(invited.locator("body")).to_contain_text("Diego Dias")  # the channel given up front
    membership = await database_sync_to_async(
        lambda: Membership.all_objects.select_related("user").get(user__email="bia@example.test"))()
    assert membership.role == Role.AGENT and membership.user.full_name == "Bia Nova"

    watch.assert_clean()
    colleague_watch.assert_clean()
    await colleague.close()
    await context.close()
