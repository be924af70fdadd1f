"""Dates on the page read one way: the separators the server drew and those added live."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from playwright.async_api import expect

from conversations.models import Message
from tests.e2e.conftest import Acme

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]
PT_BR_DATE = re.compile(r"^\d{1,2} de \w+ de \d{4}$")


@database_sync_to_async
def _three_days_ago(acme_inbox: Acme) -> None:
    Message.all_objects.filter(conversation=acme_inbox.carla).update(created_at=timezone.now() - timedelta(days=3))


async def test_a_date_separator_added_live_reads_as_those_drawn_by_the_server(acme_inbox, open_inbox, customers):
    await _three_days_ago(acme_inbox)
    ana = await open_inbox(acme_inbox.agent, f"/inbox/c/{acme_inbox.carla.public_id}/?tab=all")
    separators = ana.page.locator("#messages .date-separator")
    await expect(separators).to_have_count(1)

    customer = await customers(acme_inbox.token, acme_inbox.channel)
    await customer.write("crm-carla", "Pode ser o M?")

    await expect(separators).to_have_count(2)
    for text in await separators.all_inner_texts():
        assert PT_BR_DATE.match(text.strip()), text
