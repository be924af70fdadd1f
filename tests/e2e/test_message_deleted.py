"""In a real browser: a message the contact deletes for everyone turns into the deleted mark in
the open thread, live; the agent no longer sees what it said."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from conversations.incoming import ChannelInbound, IncomingDeletion
from conversations.services import messages_receive
from tests.e2e.conftest import receive

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def _deleted(channel, message) -> None:
    messages_receive(inbound=[ChannelInbound(channel=channel, deletions=[
        IncomingDeletion(provider_message_id=message.provider_message_id)])])


async def test_a_message_deleted_by_the_contact_turns_into_its_mark_live(acme_inbox, open_inbox):
    ana = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all")
    message = await database_sync_to_async(receive)(acme_inbox.channel, "crm-carla", "Meu CPF é 123.456.789-00")
    bubble = ana.page.locator(f"#message-{message.public_id}")
    await expect(bubble.locator(".content")).to_have_text("Meu CPF é 123.456.789-00")

    await database_sync_to_async(_deleted)(acme_inbox.channel, message)

    await expect(bubble.locator(".deleted-mark")).to_contain_text("Mensagem apagada pelo contato")
    await expect(bubble).not_to_contain_text("123.456.789-00")
    await expect(ana.page.locator(f"#conversation-{acme_inbox.carla.public_id} .preview")).not_to_contain_text("CPF")
    await ana.assert_not_reloaded()
