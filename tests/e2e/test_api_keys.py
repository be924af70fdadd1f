"""Making an API key in a real browser, under the Content-Security-Policy: an administrator
creates a key limited to a channel on Settings → API keys, copies it with the button (a static
script), the key works against the API, and revoking it (confirmed) stops it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from accounts.models import ApiKey, Role
from tests.e2e.conftest import Acme
from tests.e2e.scene import log_in
from tests.e2e.test_content_security_policy import _watched_context

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


async def test_an_admin_creates_copies_uses_and_revokes_a_key(browser: Any, inbox_server: Any, acme_inbox: Acme,
                                                              member: Any) -> None:
    admin = await database_sync_to_async(member)(acme_inbox.tenant, Role.TENANT_ADMIN, full_name="Ada Admin")
    context, watch = await _watched_context(browser, inbox_server)
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()

    await log_in(page, admin.user.email, "/inbox/")
    await page.goto("/settings/api-keys/")
    form = page.locator("form.api-key-form")
    await form.locator("input[name=name]").fill("CRM")
    await form.locator("select[name=scope]").select_option("read")
    await form.locator(f"input[name=channels][value='{acme_inbox.channel.public_id}']").check()
    await form.locator("button[type=submit]").click()

    key = await page.locator("#created-key").input_value()
    assert key.startswith("ik_live_")
    await page.locator("[data-copy=created-key]").click()
    await expect(page.locator("[data-copy=created-key]")).to_have_text("Copiada")
    assert await page.evaluate("navigator.clipboard.readText()") == key

    api = context.request
    listed = await api.get(f"{inbox_server.url}/api/v1/conversations", headers={"X-API-Key": key})
    assert listed.status == 200

    await page.goto("/settings/api-keys/")
    assert key not in await page.content()
    await page.locator(".api-key-revoke summary").click()
    await page.locator(".api-key-revoke button[type=submit]").click()
    await expect(page.locator(".toast.flash-success")).to_contain_text("CRM")
    refused = await api.get(f"{inbox_server.url}/api/v1/conversations", headers={"X-API-Key": key})
    assert refused.status == 401
    assert await database_sync_to_async(lambda: ApiKey.all_objects.get().revoked_at is not None)()

    watch.assert_clean()
    await context.close()
