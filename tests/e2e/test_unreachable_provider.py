"""A WhatsApp Cloud channel whose provider cannot be reached (its address is a closed port):
the agent sees within seconds, without reloading, that the reply is not going out and why (the
reason in their language, the provider's words behind "Details"), and the channel's settings
say it is in error."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from playwright.async_api import expect

from accounts.models import Role
from tests import factories
from tests.e2e.conftest import OpenInbox, receive

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

SECONDS = 5


def _closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


@pytest.fixture
def whatsapp_away(acme: Any, member: Any, settings: Any) -> tuple[Any, Any]:
    settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{_closed_port()}"
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", name="WhatsApp Vendas",
                                       config={"phone_number_id": "100000000000002", "waba_id": "100000000000001"})
    admin = member(acme, Role.TENANT_ADMIN, channels=(channel,), full_name="Mariana Costa")
    conversation = receive(channel, "5511987650001", "Oi, meu pedido atrasou", name="Carla Castro").conversation
    return admin, conversation


async def test_a_reply_the_provider_cannot_take_says_so_at_once_and_the_channel_is_in_error(
        whatsapp_away: tuple[Any, Any], open_inbox: OpenInbox) -> None:
    admin, conversation = whatsapp_away
    mariana = await open_inbox(admin, f"/inbox/c/{conversation.public_id}/?tab=all")
    page = mariana.page

    await page.locator("#reply-text").fill("Já verifico para você!")
    await page.locator("#reply-text").press("Enter")

    bubble = page.locator("#messages .bubble.outbound", has_text="Já verifico para você!")
    retrying = bubble.locator(".retrying")
    await expect(retrying).to_be_visible(timeout=SECONDS * 1000)
    await expect(retrying).to_contain_text("Ainda não enviada, tentando de novo: "
                                           "Não foi possível contatar o provedor do canal.")
    await expect(retrying.locator("details.error-details summary")).to_have_text("Detalhes")
    await retrying.locator("details.error-details summary").click()
    await expect(retrying.locator("details.error-details code")).to_contain_text(
        "WhatsApp could not be reached (connection refused)")
    # Styled with the design system: a callout, not bare text.
    assert await retrying.evaluate("(element) => getComputedStyle(element).borderLeftStyle") == "solid"
    await mariana.assert_not_reloaded()

    await page.goto("/settings/channels/")
    row = page.locator("tr", has_text="WhatsApp Vendas")
    await expect(row.locator(".status-pill")).to_have_text("Erro")
    await expect(row).to_contain_text("could not be reached")
