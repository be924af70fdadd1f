"""End-to-end browser tests: Debian's Chromium, driven by Playwright, against the real inbox.

The app (config.asgi:application, HTTP and WebSockets) is served by uvicorn from a thread of
the test process, so it shares the test database and the channel layer: the embedded default
(SQLite file, in-memory layer) or the production shape (PostgreSQL, channels-redis). Customers
write through the API channel over HTTP, as an integrator does."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import APIRequestContext, Browser, Page, Playwright, async_playwright, expect

from accounts.access import TenantAccess
from accounts.models import Role
from accounts.services import tokens_issue
from conversations.incoming import IncomingMessage
from conversations.services import message_receive
from tests import factories
from tests.factories import PASSWORD

# Browsers cannot be downloaded here: Debian's chromium, by its path.
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SERVER_START_SECONDS = 10
SERVER_STOP_SECONDS = 15
# How long an expectation waits for the page (Playwright's default is 5 s). The suite runs the
# browser beside the other tests on two shared cores, where a live update seen within a second
# alone can take longer: waiting is not slowness of the product, failing a check that would pass is.
expect.set_options(timeout=10_000)

# Records every bubble put into the page with the delivery status it had then, so a test can
# tell which states a reply went through, however fast they followed each other.
BUBBLE_RECORDER = """
window.__bubbles = [];
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && node.matches("article.bubble")) window.__bubbles.push([node.id, node.dataset.status]);
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


class InboxServer:
    """config.asgi:application on 127.0.0.1 in a background thread. The first start takes a
    free port (so each pytest-xdist worker has its own); stop() and start() again keep it."""

    def __init__(self) -> None:
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from config.asgi import application

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the same port again after a stop
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        config = uvicorn.Config(application, lifespan="off", ws="websockets-sansio", log_level="warning",
                                access_log=False, timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]},
                                        name=f"inbox-e2e-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the inbox server did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Close every connection (sockets get close code 1012) and stop listening."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=SERVER_STOP_SECONDS)
        if self._thread.is_alive():
            raise RuntimeError(f"the inbox server on {self.url} did not stop")
        self._server = self._thread = None


@pytest.fixture
def inbox_server(transactional_db: None) -> Iterator[InboxServer]:
    """The live inbox for one test; stopped before the test database is emptied."""
    server = InboxServer()
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM_PATH, os.X_OK):
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM_PATH}: install Debian's `chromium` package "
                    "(apt-get install chromium; `make test` does it as root) or set CHROMIUM_PATH.")
    chromium = await playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
    yield chromium
    await chromium.close()


@dataclass
class AgentBrowser:
    """One agent's inbox tab, and what its socket and its page went through."""

    page: Page
    frames: list[dict[str, Any]] = field(default_factory=list)  # every frame the inbox socket received
    dialogs: list[str] = field(default_factory=list)  # every alert/confirm/prompt the page opened

    async def assert_not_reloaded(self) -> None:
        """What the test saw came live: the page is still the document it logged in to."""
        assert await self.page.evaluate("window.__e2eDocument === true"), "the inbox page was reloaded"

    async def bubble_history(self) -> list[list[str]]:
        return await self.page.evaluate("window.__bubbles")

    async def duplicates(self, selector: str) -> list[str]:
        """The ids shown more than once among the elements matching `selector`."""
        return await self.page.evaluate(
            "(selector) => { const ids = [...document.querySelectorAll(selector)].map((element) => element.id);"
            " return ids.filter((id, index) => ids.indexOf(id) !== index); }", selector)


OpenInbox = Callable[..., Awaitable[AgentBrowser]]


@pytest_asyncio.fixture(loop_scope="module")
async def open_inbox(browser: Browser, inbox_server: InboxServer) -> AsyncIterator[OpenInbox]:
    """open_inbox(membership, path) → that member logged in through the login page, in a
    browser context of their own, at `path`, with the live socket up."""
    contexts = []

    async def open_(membership: Any, path: str = "/inbox/?tab=all") -> AgentBrowser:
        context = await browser.new_context(base_url=inbox_server.url, viewport={"width": 1366, "height": 800})
        contexts.append(context)
        await context.add_init_script(BUBBLE_RECORDER)
        page = await context.new_page()
        agent = AgentBrowser(page=page)

        def on_socket(socket: Any) -> None:
            socket.on("framereceived", lambda payload: agent.frames.append(json.loads(payload)))

        async def on_dialog(dialog: Any) -> None:
            agent.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("websocket", on_socket)
        page.on("dialog", on_dialog)
        await page.goto(f"/login/?next={quote(path)}")
        await page.locator("input[name=email]").fill(membership.user.email)
        await page.locator("input[name=password]").fill(PASSWORD)
        await page.locator("form.login-card button[type=submit]").click()
        await expect(page.locator("#app")).to_be_attached()
        await expect(page.locator("#connection")).to_have_attribute("data-state", "online")
        await page.evaluate("window.__e2eDocument = true")  # gone if the page reloads
        return agent

    yield open_
    for context in contexts:
        await context.close()


class Customers:
    """The integrator of an API channel: delivers its customers' messages over HTTP."""

    def __init__(self, request: APIRequestContext, channel: Any) -> None:
        self._request = request
        self.channel = channel

    async def write(self, contact_id: str, content: str, name: str = "") -> dict[str, Any]:
        response = await self._request.post(f"/api/v1/channels/{self.channel.public_id}/messages", data={
            "contact": {"external_id": contact_id, "name": name or contact_id},
            "content": content, "external_id": f"e2e-{uuid.uuid4()}",
        })
        assert response.status == 201, await response.text()
        return await response.json()


def access_token(membership: Any) -> str:
    access = TenantAccess(user=membership.user, tenant=membership.tenant, role=membership.role)
    return tokens_issue(access=access)["access"]


@pytest_asyncio.fixture(loop_scope="module")
async def customers(playwright: Playwright, inbox_server: InboxServer) -> AsyncIterator[Callable[..., Awaitable[Customers]]]:
    """customers(token, channel) → an integrator posting to that API channel with that
    access JWT (see access_token; issue it outside the event loop, it writes to the database)."""
    requests: list[APIRequestContext] = []

    async def make(token: str, channel: Any) -> Customers:
        request = await playwright.request.new_context(
            base_url=inbox_server.url, extra_http_headers={"Authorization": f"Bearer {token}"})
        requests.append(request)
        return Customers(request, channel)

    yield make
    for request in requests:
        await request.dispose()


@dataclass
class Acme:
    tenant: Any
    channel: Any  # kind api
    agent: Any  # works the channel
    colleague: Any  # works it too
    token: str  # the integrator's access JWT (a manager's)
    carla: Any  # the conversation of contact crm-carla (newest)
    diego: Any  # the conversation of contact crm-diego (older)


def receive(channel: Any, contact_id: str, content: str, name: str = "") -> Any:
    """A customer's message stored the way the API channel stores it (no HTTP)."""
    message, _ = message_receive(channel=channel, message=IncomingMessage(
        contact_external_id=contact_id, contact_name=name or contact_id, provider_message_id=f"api:e2e-{uuid.uuid4()}",
        content=content))
    return message


@pytest.fixture
def acme_inbox(acme: Any, member: Callable[..., Any]) -> Acme:
    """Acme's API channel worked by two agents, with two customers who already wrote."""
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja (API)")
    agent = member(acme, Role.AGENT, channels=(channel,), full_name="Ana Atendente")
    colleague = member(acme, Role.AGENT, channels=(channel,), full_name="Bruno Colega")
    manager = member(acme, Role.MANAGER, full_name="Marta Gerente")
    diego = receive(channel, "crm-diego", "Meu pedido não chegou", name="Diego Dias").conversation
    carla = receive(channel, "crm-carla", "Quero trocar o tamanho", name="Carla Castro").conversation
    return Acme(tenant=acme, channel=channel, agent=agent, colleague=colleague, token=access_token(manager),
                carla=carla, diego=diego)


def within(seconds: float, started: float) -> float:
    """What is left, in milliseconds, of `seconds` counted from loop time `started`."""
    return max(0.0, seconds - (asyncio.get_running_loop().time() - started)) * 1000
