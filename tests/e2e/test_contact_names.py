"""In a real browser: a contact's (or a group's) name that their provider says later (a group's
subject fetched after its first message) replaces the old one in the open inbox, live."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from contacts.incoming import ContactUpdate
from contacts.services import contacts_update_from_channel

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


async def test_a_name_said_later_shows_in_the_list_and_the_open_thread(acme_inbox, open_inbox):
    ana = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all")

    await database_sync_to_async(contacts_update_from_channel)(channel=acme_inbox.channel, updates=[
        ContactUpdate(external_id="crm-diego", name="Diego Dias Souza"),
        ContactUpdate(external_id="crm-carla", name="Carla C. Castro")])

    await expect(ana.page.locator(f"#conversation-{acme_inbox.diego.public_id} .contact-name")).to_have_text(
        "Diego Dias Souza")
    await expect(ana.page.locator(f"#conversation-{acme_inbox.carla.public_id} .contact-name")).to_have_text(
        "Carla C. Castro")
    await expect(ana.page.locator("#thread-header h2")).to_contain_text("Carla C. Castro")
    await ana.assert_not_reloaded()
