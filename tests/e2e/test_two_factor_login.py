"""Two-factor login in a real browser, under the Content-Security-Policy: an agent turns it on
(the QR code drawn, a code from the authenticator app), logs out, and logs in with the password
and then a code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Acme
from tests.e2e.test_content_security_policy import _watched_context
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


async def test_an_agent_turns_on_two_factor_login_and_logs_in_with_a_code(browser, inbox_server, acme_inbox: Acme):
    context, watch = await _watched_context(browser, inbox_server)
    page = await context.new_page()
    email = acme_inbox.agent.user.email

    await page.goto("/login/?next=/inbox/")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form.login-card button[type=submit]").click()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "online")

    # Turn it on from the inbox: the QR code is an image drawn by the server, the key beside it.
    await page.locator("a[href='/account/security/']").click()
    await expect(page.locator("#two-factor")).to_have_attribute("data-state", "off")
    await page.locator("form[action='/account/two-factor/start'] button").click()
    qr = page.locator("#two-factor img.qr")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("(image) => image.complete && image.naturalWidth > 0")
    secret = (await page.locator("#two-factor code.secret").text_content() or "").strip()
    await page.locator("form[action='/account/two-factor/confirm'] input[name=code]").fill(pyotp.TOTP(secret).now())
    await page.locator("form[action='/account/two-factor/confirm'] button").click()
    await expect(page.locator(".recovery-codes li")).to_have_count(10)

    # Log out, and in again: the password, then the code.
    await page.goto("/inbox/")
    await page.locator("form[action='/logout/'] button").click()
    await page.wait_for_url(re.compile(r"/login/"))
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form.login-card button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/login/code/"))
    # The code of the next 30-second step: the one just used to turn it on is not accepted twice.
    await page.locator("input[name=code]").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.locator("form.login-code button[type=submit]").click()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "online")

    watch.assert_clean()
    await context.close()
