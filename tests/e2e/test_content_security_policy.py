"""Under the Content-Security-Policy, in a real browser: every page a user reaches works and
the browser reports no violation; and a file an agent uploads to attack an admin (an SVG or
an HTML page with a script, even one that loads a script uploaded beside it) runs nothing
and only ever downloads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import Browser, BrowserContext, Error, Page, expect

from accounts.models import Role
from conversations.models import Attachment
from tests import factories
from tests.conversations.test_attachments import PNG
from tests.e2e.conftest import Acme, InboxServer
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

# Runs in every document before its own scripts (Playwright's init scripts are not subject to
# the page's policy) and hands each violation to the test.
VIOLATION_RECORDER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({page: location.pathname, directive: event.effectiveDirective,
                         blocked: event.blockedURI, source: event.sourceFile, line: event.lineNumber,
                         sample: event.sample});
});
"""


@dataclass
class Watch:
    """Everything a browser context says about the policy and about broken pages."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # console errors that name the policy
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in pages
    reports: list[str] = field(default_factory=list)  # violation reports the browser posted
    requests: list[str] = field(default_factory=list)  # every URL the browser asked for
    documents: dict[str, str] = field(default_factory=dict)  # each page loaded → its policy

    def attach(self, page: Page) -> None:
        page.on("console", lambda message: self.console.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text else None)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    async def on_response(self, response: Any) -> None:
        if response.request.resource_type == "document":
            self.documents[response.url] = await response.header_value("content-security-policy") or ""

    def assert_clean(self) -> None:
        assert self.documents, "no page was loaded"
        for url, policy in self.documents.items():
            expected = "sandbox; default-src 'none'" if "/inbox/attachments/" in url else "script-src 'self'"
            assert expected in policy, (url, policy)
        assert self.violations == [], self.violations
        assert self.console == [], self.console
        assert self.reports == [], self.reports
        assert self.errors == [], self.errors


async def _watched_context(browser: Browser, server: InboxServer) -> tuple[BrowserContext, Watch]:
    context = await browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 800},
                                        accept_downloads=True)
    watch = Watch()
    await context.expose_function("__cspViolation", lambda violation: watch.violations.append(violation))
    await context.add_init_script(VIOLATION_RECORDER)
    context.on("page", watch.attach)
    context.on("response", watch.on_response)
    context.on("request", lambda request: (watch.reports if "/csp-report/" in request.url
                                           else watch.requests).append(request.url))
    return context, watch


async def _log_in(page: Page, email: str, path: str) -> None:
    await page.goto(f"/login/?next={path}")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("form.login-card button[type=submit]").click()
    await page.wait_for_url(re.compile(re.escape(path.split("?")[0])))


@pytest.fixture
def staff(acme_inbox: Acme, member: Any) -> Any:
    """A platform superuser who is also Acme's admin: every page of the product is theirs."""
    admin = member(acme_inbox.tenant, Role.TENANT_ADMIN, channels=(acme_inbox.channel,), full_name="Ada Admin",
                   is_staff=True, is_superuser=True)
    factories.LabelFactory(tenant=acme_inbox.tenant, name="vip", color="#ff0000")
    factories.TeamFactory(tenant=acme_inbox.tenant, name="Suporte")
    return admin


async def test_every_page_works_under_the_policy_with_no_violation(
        browser, inbox_server, acme_inbox, staff, customers):
    context, watch = await _watched_context(browser, inbox_server)
    page = await context.new_page()
    carla = acme_inbox.carla

    # Django admin's own login page, then ours; the inbox with its live socket (connect-src:
    # our own WebSocket origin).
    await page.goto("/admin/login/")
    await expect(page.locator("#login-form")).to_be_visible()
    await _log_in(page, staff.user.email, "/inbox/?tab=all")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    await expect(page.locator("#rows .row")).to_have_count(2)

    # A conversation, opened from the list (htmx), with the contact panel beside it.
    await page.locator(f"#conversation-{carla.public_id} a").click()
    await expect(page.locator(f"#thread-{carla.public_id}")).to_be_visible()
    await expect(page.locator(".contact-pane h3")).to_have_text("Carla Castro")

    # A reply is sent; a customer's message arrives live.
    await page.locator("#reply-text").fill("Posso ajudar?")
    await page.locator("#reply-text").press("Enter")
    await expect(page.locator("#messages .bubble.outbound", has_text="Posso ajudar?")).to_have_attribute(
        "data-status", "SENT")
    customer = await customers(acme_inbox.token, acme_inbox.channel)
    sent = await customer.write("crm-carla", "Pode ser o M?")
    await expect(page.locator(f"#message-{sent['id']} .content")).to_have_text("Pode ser o M?")

    # The contact panel's form; the help overlay; the language switch (a select that submits itself).
    await page.locator(".contact-pane summary").click()
    await page.locator(".contact-pane input[name=name]").fill("Carla C. Castro")
    await page.locator(".contact-pane button[type=submit]").click()
    await expect(page.locator(".contact-pane h3")).to_have_text("Carla C. Castro")
    await page.keyboard.press("?")
    await expect(page.locator("#help")).to_be_visible()
    await page.keyboard.press("Escape")
    await page.locator("select[name=language]").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    await page.locator("#search").fill("Diego")
    await expect(page.locator("#rows .row")).to_have_count(1)

    # The settings pages.
    await page.goto("/settings/channels/")
    await expect(page.locator("table.list tbody tr")).to_have_count(1)
    await page.goto(f"/settings/channels/{acme_inbox.channel.public_id}/")
    await expect(page.locator("#channel-status")).to_be_visible()
    for kind in ("api", "whatsapp_cloud"):
        await page.goto(f"/settings/channels/new/{kind}/")
        await expect(page.locator("form.settings-form")).to_be_visible()
    # Teams (a new one, then its members and channels), labels with their colour, canned responses.
    await page.goto("/settings/teams/")
    await page.locator("input[name=name]").fill("Vendas")
    await page.locator("button[type=submit].primary").click()
    await expect(page.locator("h1")).to_have_text("Vendas")
    await page.locator("fieldset.choices input[type=checkbox]").first.check()
    await page.locator("form.settings-form button[type=submit]").click()
    await page.goto("/settings/labels/")
    await expect(page.locator(".label-swatch svg rect")).to_have_count(1)
    await page.locator(".labels-list summary").first.click()
    await expect(page.locator(".labels-list input[type=color]").first).to_be_visible()
    await page.goto("/settings/canned-responses/")
    await expect(page.locator("input[type=search]")).to_be_visible()
    # Alerts (the rules, a new one) and the notifications the bell leads to.
    await page.goto("/settings/alerts/")
    await page.locator("select[name=kind]").select_option("quota")
    await page.locator("input[name=threshold]").fill("80")
    await page.locator("form.settings-form button[type=submit]").click()
    await expect(page.locator("table.alert-rules tbody tr")).to_have_count(6)
    await page.locator("header.topbar a.bell").click()
    await expect(page.locator("main#main h1")).to_be_visible()

    # Django admin: the index, a changelist with colour swatches, a change form, and the
    # autocomplete widget (select2) of a form opened.
    await page.goto("/admin/")
    await expect(page.locator("#content-main")).to_be_visible()
    await page.goto("/admin/conversations/label/")
    await expect(page.locator("#result_list tbody tr")).to_have_count(1)
    await page.locator("#result_list tbody tr a").first.click()
    await expect(page.locator("input[name=name]")).to_have_value("vip")
    await page.goto("/admin/conversations/team/add/")
    await page.locator(".field-members .select2-selection").click()
    await expect(page.locator(".select2-results__option").first).to_be_visible()

    # The API docs: Swagger UI renders the operations and runs one.
    await page.goto("/api/docs/")
    operation = page.locator(".opblock-get", has=page.locator('[data-path="/api/v1/channels"]')).first
    await expect(operation).to_be_visible()
    await operation.locator(".opblock-summary").click()
    await operation.locator(".try-out__btn").click()
    await operation.locator(".execute").click()
    await expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")

    watch.assert_clean()
    await context.close()


# Uploaded first as a script, then loaded by the SVG and the HTML page: a page's policy that
# allows our own origin's scripts would let it run if the attachment URL served it as one.
PAYLOAD_JS = b"localStorage.setItem('pwned', document.title || 'yes'); fetch('/inbox/unread/?pwned=script');"


def _svg(script_url: str) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'onload="fetch(\'/inbox/unread/?pwned=svg-onload\')">'
            f'<script>localStorage.setItem("pwned", "svg"); fetch("/inbox/unread/?pwned=svg-inline");</script>'
            f'<script href="{script_url}"></script><script xlink:href="{script_url}"></script></svg>').encode()


def _html(script_url: str) -> bytes:
    return (f"<!doctype html><html><head><title>html</title>"
            f'<script>localStorage.setItem("pwned", "html"); fetch("/inbox/unread/?pwned=html-inline");</script>'
            f'<script src="{script_url}"></script></head><body onload="fetch(\'/inbox/unread/?pwned=html-onload\')">'
            f"</body></html>").encode()


async def _upload(page: Page, name: str, mime_type: str, data: bytes) -> str:
    """Attach one file to a reply; the attachment's URL as the thread links it."""
    await page.locator("#reply-form input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime_type, "buffer": data}])
    await page.locator("#reply-form button[type=submit]").click()
    link = page.locator("#messages a.attachment", has_text=name)
    await expect(link).to_have_count(1)
    return await link.get_attribute("href")


async def test_an_uploaded_svg_or_html_runs_nothing_and_only_downloads(browser, inbox_server, acme_inbox, staff):
    context, watch = await _watched_context(browser, inbox_server)
    page = await context.new_page()
    await _log_in(page, staff.user.email, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all")

    script_url = await _upload(page, "helper.js", "text/javascript", PAYLOAD_JS)
    svg_url = await _upload(page, "x.svg", "image/svg+xml", _svg(script_url))
    html_url = await _upload(page, "x.html", "text/html", _html(script_url))

    for name, url in (("x.svg", svg_url), ("x.html", html_url)):
        link = page.locator("#messages a.attachment", has_text=name)
        assert await link.get_attribute("target") is None and await link.get_attribute("download") is not None
        # Clicked in the thread: a download.
        async with page.expect_download() as clicked:
            await link.click()
        assert (await clicked.value).suggested_filename == name
        await (await clicked.value).path()
        # Opened by its address (a link pasted elsewhere, a new tab): still only a download.
        opened = await context.new_page()
        async with opened.expect_download() as navigated:
            with pytest.raises(Error, match="Download is starting"):
                await opened.goto(url)
        assert (await navigated.value).suggested_filename == name
        await (await navigated.value).path()
        await opened.close()
    # The files are what their bytes are, whatever they were called.
    stored = await database_sync_to_async(lambda: dict(Attachment.all_objects.values_list("file_name", "content_type")))()
    assert stored == dict.fromkeys(("helper.js", "x.svg", "x.html"), "application/octet-stream")

    # A photo is still shown in the thread (and opens as the image it is).
    await page.locator("#reply-form input[type=file]").set_input_files(
        files=[{"name": "foto.png", "mimeType": "image/png", "buffer": PNG}])
    await page.locator("#reply-form button[type=submit]").click()
    photo = page.locator("#messages img.inline-image[alt='foto.png']")
    await expect(photo).to_have_count(1)
    assert await photo.evaluate("image => image.decode().then(() => image.naturalWidth)") == 1

    # Back on our origin: nothing of the payloads ran anywhere.
    await page.reload()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    assert await page.evaluate("localStorage.getItem('pwned')") is None
    assert [url for url in watch.requests if "pwned" in url] == []
    watch.assert_clean()
    await context.close()
