"""The live inbox in a real browser: what agents see without reloading, as customers write
through the API channel (see conftest.py for the server, the browser and the scene)."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from accounts.models import Role
from contacts.models import Contact
from conversations.models import Conversation, Message
from tests import factories
from tests.e2e.conftest import Acme, access_token, receive, within
from tests.ids import assert_no_integer_ids

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    # WhiteNoise hands Django's ASGI handler a synchronous file iterator for every static file.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

XSS = "<img src=x onerror=alert(1)>"
LIVE_SECONDS = 2  # the promise: a customer's message shows within two seconds


def _thread(acme_inbox: Acme) -> str:
    return f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all"


@pytest.fixture
def globex_inbox(globex: Any, member: Any) -> dict[str, Any]:
    channel = factories.ChannelFactory(tenant=globex, kind="api", name="Globex (API)")
    return {"channel": channel, "agent": member(globex, Role.AGENT, channels=(channel,), full_name="Gil Globex"),
            "token": access_token(member(globex, Role.MANAGER))}


async def test_customer_messages_appear_live_in_the_open_inbox(acme_inbox, open_inbox, customers):
    ana = await open_inbox(acme_inbox.agent, _thread(acme_inbox))
    page, rows = ana.page, ana.page.locator("#rows .row")
    customer = await customers(acme_inbox.token, acme_inbox.channel)
    diego_row = page.locator(f"#conversation-{acme_inbox.diego.public_id}")
    await expect(rows).to_have_count(2)
    await expect(diego_row.locator(".badge")).to_have_text("1")

    # A new customer: a new row, on top, with its unread badge.
    started = asyncio.get_running_loop().time()
    elisa = await customer.write("crm-elisa", "Vocês entregam no sábado?", name="Elisa Souza")
    elisa_row = page.locator(f"#conversation-{elisa['conversation_id']}")
    await expect(rows.first).to_have_id(f"conversation-{elisa['conversation_id']}",
                                        timeout=within(LIVE_SECONDS, started))
    await expect(elisa_row.locator(".contact-name")).to_have_text("Elisa Souza")
    await expect(elisa_row.locator(".preview")).to_have_text("Vocês entregam no sábado?")
    await expect(elisa_row.locator(".badge")).to_have_text("1")

    # A customer further down writes again: the row moves to the top, its badge counts two.
    started = asyncio.get_running_loop().time()
    await customer.write("crm-diego", "Alguma novidade do pedido?")
    await expect(rows.first).to_have_id(f"conversation-{acme_inbox.diego.public_id}", timeout=within(LIVE_SECONDS, started))
    await expect(diego_row.locator(".badge")).to_have_text("2")
    await expect(diego_row.locator(".preview")).to_have_text("Alguma novidade do pedido?")

    # The customer of the open conversation writes: a bubble in the thread, the row on top.
    started = asyncio.get_running_loop().time()
    carla = await customer.write("crm-carla", "Pode ser o M?")
    await expect(page.locator(f"#message-{carla['id']} .content")).to_have_text(
        "Pode ser o M?", timeout=within(LIVE_SECONDS, started))
    await expect(rows.first).to_have_id(f"conversation-{acme_inbox.carla.public_id}")
    await expect(rows).to_have_count(3)
    await expect(page.locator("#messages .bubble")).to_have_count(2)
    await ana.assert_not_reloaded()


async def test_a_reply_shows_pending_then_sent(acme_inbox, open_inbox):
    ana = await open_inbox(acme_inbox.agent, _thread(acme_inbox))
    page, box = ana.page, ana.page.locator("#reply-text")

    await box.fill("Claro! Qual tamanho você prefere?")
    await box.press("Enter")

    bubble = page.locator("#messages .bubble.outbound", has_text="Claro! Qual tamanho você prefere?")
    await expect(bubble).to_have_count(1)
    await expect(bubble).to_have_attribute("data-status", "SENT")
    await expect(bubble.locator(".delivery")).to_have_class(re.compile(r"\bstatus-sent\b"))
    await expect(box).to_have_value("")
    bubble_id = await bubble.get_attribute("id")
    statuses = [status for shown, status in await ana.bubble_history() if shown == bubble_id]
    # The bubble shows its delivery state and only moves forward: PENDING then SENT, or SENT
    # at once when the channel was faster than the form's answer.
    assert statuses and statuses[-1] == "SENT", statuses
    assert statuses == sorted(statuses, key=["PENDING", "SENT"].index), statuses
    assert await ana.duplicates("#messages .bubble") == []
    if os.environ.get("INBOX_E2E_SCREENSHOT"):
        await page.screenshot(path=os.environ["INBOX_E2E_SCREENSHOT"])


async def test_a_colleague_sees_the_assignment_and_the_typing_live(acme_inbox, open_inbox):
    ana = await open_inbox(acme_inbox.agent, _thread(acme_inbox))
    bruno = await open_inbox(acme_inbox.colleague, _thread(acme_inbox))
    bruno_id = str(acme_inbox.colleague.user.public_id)

    await ana.page.locator("#thread-header select[name=assignee]").select_option(bruno_id)

    await expect(bruno.page.locator("#thread-header select[name=assignee]")).to_have_value(bruno_id)
    for page in (ana.page, bruno.page):
        await expect(page.locator(f"#conversation-{acme_inbox.carla.public_id} .assignee")).to_have_text("Bruno Colega")

    await ana.page.locator("#reply-text").press_sequentially("Deixa comigo")

    await expect(bruno.page.locator("#typing")).to_contain_text("Ana Atendente")
    await expect(ana.page.locator("#typing")).to_have_text("")
    await bruno.assert_not_reloaded()
    assigned = [frame for frame in bruno.frames if frame.get("name") == "conversation.assigned"]
    assert assigned and assigned[-1]["data"]["assignee_id"] == bruno_id
    assert [frame["user"]["id"] for frame in bruno.frames if frame.get("type") == "typing"] == [
        str(acme_inbox.agent.user.public_id)]
    assert assert_no_integer_ids(bruno.frames) > 0


def _acme_ids(tenant: Any) -> dict[str, set[str]]:
    def public_ids(model: Any) -> set[str]:
        return {str(public_id) for public_id in model.all_objects.filter(tenant=tenant.tenant).values_list(
            "public_id", flat=True)}

    return {"channel_id": {str(tenant.channel.public_id)}, "contact_id": public_ids(Contact),
            "conversation_id": public_ids(Conversation), "message_id": public_ids(Message)}


async def test_an_agent_of_another_tenant_receives_nothing(acme_inbox, globex_inbox, open_inbox, customers):
    ana = await open_inbox(acme_inbox.agent)
    gil = await open_inbox(globex_inbox["agent"])
    acme_customer = await customers(acme_inbox.token, acme_inbox.channel)
    globex_customer = await customers(globex_inbox["token"], globex_inbox["channel"])

    secret = await acme_customer.write("crm-carla", "Segredo da Acme: cupom ACME50")
    fresh = await acme_customer.write("crm-fabio", "Cliente novo da Acme", name="Fábio da Acme")
    await expect(ana.page.locator(f"#conversation-{fresh['conversation_id']}")).to_be_visible()
    await expect(ana.page.locator(f"#conversation-{secret['conversation_id']} .preview")).to_have_text(
        "Segredo da Acme: cupom ACME50")
    # Events reach a socket in order: once Gil sees his own customer's message, anything of
    # Acme's that could reach him has arrived before it.
    own = await globex_customer.write("globex-hugo", "Mensagem da Globex")
    await expect(gil.page.locator(f"#conversation-{own['conversation_id']}")).to_be_visible()

    acme_ids = await database_sync_to_async(_acme_ids)(acme_inbox)
    leaked = [frame for frame in gil.frames
              if any((frame.get("data") or {}).get(key) in ids for key, ids in acme_ids.items())]
    assert leaked == []
    assert not [frame for frame in gil.frames if "Acme" in str(frame) or "ACME50" in str(frame)]
    assert any((frame.get("data") or {}).get("message_id") == own["id"] for frame in gil.frames)
    assert assert_no_integer_ids(gil.frames) > 0 and assert_no_integer_ids(ana.frames) > 0
    await expect(gil.page.locator("#rows .row")).to_have_count(1)
    await expect(gil.page.get_by_text("Segredo da Acme")).to_have_count(0)


async def test_what_a_customer_typed_is_shown_as_text(acme_inbox, open_inbox, customers):
    ana = await open_inbox(acme_inbox.agent)
    page = ana.page
    customer = await customers(acme_inbox.token, acme_inbox.channel)

    first = await customer.write("crm-xss", XSS, name=XSS)  # pushed into the list
    row = page.locator(f"#conversation-{first['conversation_id']}")
    await expect(row.locator(".contact-name")).to_have_text(XSS)
    await expect(row.locator(".preview")).to_have_text(XSS)
    await row.locator("a").click()  # the thread, swapped in by htmx
    await expect(page.locator(f"#message-{first['id']} .content")).to_have_text(XSS)
    second = await customer.write("crm-xss", XSS, name=XSS)  # pushed into the open thread

    await expect(page.locator(f"#message-{second['id']} .content")).to_have_text(XSS)
    await expect(page.locator("#thread-header h2")).to_contain_text(XSS)
    await expect(page.locator("#contact-pane h3")).to_have_text(XSS)
    await expect(page.locator("img[src=x]")).to_have_count(0)
    assert ana.dialogs == []


async def test_after_the_socket_is_cut_and_restored_the_missed_message_appears_once(
        acme_inbox, open_inbox, customers, inbox_server):
    ana = await open_inbox(acme_inbox.agent, _thread(acme_inbox))
    page, connection = ana.page, ana.page.locator("#connection")

    await asyncio.to_thread(inbox_server.stop)
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    missed = await database_sync_to_async(receive)(acme_inbox.channel, "crm-carla", "Alô? Caiu a conexão?")
    await expect(page.locator(f"#message-{missed.public_id}")).to_have_count(0)
    await asyncio.to_thread(inbox_server.start)

    await expect(connection).to_have_attribute("data-state", "online", timeout=15_000)
    await expect(page.locator(f"#message-{missed.public_id} .content")).to_have_text("Alô? Caiu a conexão?")
    # The socket is live again; once this one shows, every replayed event has been applied.
    customer = await customers(acme_inbox.token, acme_inbox.channel)
    after = await customer.write("crm-carla", "Ah, voltou!")
    await expect(page.locator(f"#message-{after['id']}")).to_have_count(1)
    await expect(page.locator(f"#message-{missed.public_id}")).to_have_count(1)
    assert await ana.duplicates("#messages .bubble") == []
    await expect(page.locator("#messages .bubble")).to_have_count(3)
    await ana.assert_not_reloaded()
