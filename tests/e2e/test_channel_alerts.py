"""In a real browser: the banner of a channel down appears above an admin's open inbox when the
channel disconnects, and goes when it is connected again, without reloading; an agent sees
none."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from accounts.models import Role
from channels_app.models import Channel
from channels_app.services import channel_set_status
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


async def test_a_channel_going_down_and_back_is_told_to_admins_live(acme_inbox, open_inbox, member):
    phone = await database_sync_to_async(factories.ChannelFactory)(
        tenant=acme_inbox.tenant, kind="whatsapp_evolution", name="WhatsApp Celular", status=Channel.Status.CONNECTED)
    admin = await database_sync_to_async(member)(acme_inbox.tenant, Role.TENANT_ADMIN)
    boss = await open_inbox(admin)
    ana = await open_inbox(acme_inbox.agent)
    banner = boss.page.locator("#banners .banner")
    await expect(banner).to_have_count(0)

    await database_sync_to_async(channel_set_status)(channel=phone, status=Channel.Status.DISCONNECTED,
                                                     detail="Logged out on the phone: pair the number again.")

    await expect(banner).to_have_count(1)
    await expect(banner).to_contain_text("O canal WhatsApp Celular está desconectado desde")
    await expect(banner.locator("a")).to_have_attribute("href", f"/settings/channels/{phone.public_id}/")

    await database_sync_to_async(channel_set_status)(channel=phone, status=Channel.Status.CONNECTED)

    await expect(banner).to_have_count(0)
    await expect(ana.page.locator("#banners .banner")).to_have_count(0)
    await boss.assert_not_reloaded()
