"""In a real browser: the contact typing or recording shows in the open thread, live, and goes
when they stop or their message arrives (the frames come as a provider's presence webhook
makes them: conversations.realtime.broadcast_presence)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from conversations.realtime import broadcast_presence
from tests.e2e.conftest import receive

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


async def test_the_contact_typing_shows_in_their_open_thread(acme_inbox, open_inbox):
    ana = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all")
    presence = ana.page.locator("#presence")

    async def tell(conversation, state):
        await database_sync_to_async(broadcast_presence)(
            tenant_pk=acme_inbox.tenant.pk, channel_pk=acme_inbox.channel.pk,
            conversation_id=str(conversation.public_id), state=state)

    await tell(acme_inbox.diego, "typing")  # another conversation: not this thread's
    await tell(acme_inbox.carla, "recording")
    await expect(presence).to_have_text("gravando áudio…")
    await tell(acme_inbox.carla, "typing")
    await expect(presence).to_have_text("digitando…")
    await tell(acme_inbox.carla, "idle")
    await expect(presence).to_have_text("")

    await tell(acme_inbox.carla, "typing")
    await expect(presence).to_have_text("digitando…")
    await database_sync_to_async(receive)(acme_inbox.channel, "crm-carla", "Pode ser o M?")
    await expect(presence).to_have_text("")  # what they typed is here
    await ana.assert_not_reloaded()
