"""A contact typing or recording a voice note (Evolution's presence.update): a frame on the
channel layer to the channel's members, as agents' typing is, shown for a few seconds in the
open thread; nothing is recorded (no event in the log, no message, no contact changed)."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from accounts.models import Role
from contacts.models import Contact
from conversations.models import Conversation, Message
from tenants.models import TenantEvent
from tests import factories
from tests.conversations.test_consumers import _nothing, _ready, inbox_socket
from tests.integrations.evolution.conftest import (
    CUSTOMER,
    SECRET_HEADER,
    WEBHOOK_SECRET,
    fixture_bytes,
    fixture_json,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
GROUP = "120363000000000001@g.us"


@pytest.fixture(autouse=True)
def _a_channel_layer_per_test():
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def scene(db, evolution_channel, member):
    tenant = evolution_channel.tenant
    other_channel = factories.ChannelFactory(tenant=tenant)

    def conversation_with(address: str, name: str) -> Conversation:
        contact = factories.ContactFactory(tenant=tenant, name=name)
        factories.ContactIdentityFactory(contact=contact, tenant=tenant, channel=evolution_channel, external_id=address)
        return factories.ConversationFactory(tenant=tenant, channel=evolution_channel, contact=contact)

    customer = conversation_with(CUSTOMER, "Test Customer")
    factories.ContactIdentityFactory(contact=customer.contact, tenant=tenant, channel=evolution_channel,
                                     external_id="100000000000123@lid")
    return {
        "channel": evolution_channel, "customer": customer, "group": conversation_with(GROUP, "Pedidos da Loja"),
        "agent": member(tenant, Role.AGENT, channels=(evolution_channel,)).user,
        "outsider": member(tenant, Role.AGENT, channels=(other_channel,)).user,
    }


def _post(channel, body: bytes) -> int:
    return Client().generic("POST", f"/webhooks/whatsapp_evolution/{channel.webhook_token}", body,
                            content_type="application/json", **{SECRET_HEADER: WEBHOOK_SECRET}).status_code


post = database_sync_to_async(_post)


def _recorded() -> tuple:
    return (TenantEvent.all_objects.count(), Message.all_objects.count(),
            list(Contact.all_objects.order_by("pk").values_list("name", "updated_at")),
            list(Conversation.all_objects.order_by("pk").values_list("last_activity_at", "updated_at")))


async def test_a_contact_typing_reaches_the_channels_members_and_records_nothing(scene):
    before = await database_sync_to_async(_recorded)()
    async with inbox_socket(scene["agent"]) as agent, inbox_socket(scene["outsider"]) as outsider:
        await _ready(agent)
        await _ready(outsider)

        assert await post(scene["channel"], fixture_bytes("webhook-presence-update.json")) == 200

        frame = await agent.receive_json_from(timeout=3)
        assert frame == {"type": "presence", "conversation_id": str(scene["customer"].public_id), "state": "typing"}
        await _nothing(outsider)
    assert await database_sync_to_async(_recorded)() == before


@pytest.mark.parametrize("presence,state", [("recording", "recording"), ("paused", "idle"),
                                            ("available", "idle"), ("unavailable", "idle")])
async def test_each_presence_is_told_in_the_inboxs_words(scene, presence, state):
    payload = fixture_json("webhook-presence-update.json")
    payload["data"] = {"id": "100000000000123@lid",  # the chat addressed by the contact's @lid
                       "presences": {"100000000000123@lid": {"lastKnownPresence": presence}}}
    async with inbox_socket(scene["agent"]) as agent:
        await _ready(agent)

        await post(scene["channel"], json.dumps(payload).encode())

        assert await agent.receive_json_from(timeout=3) == {
            "type": "presence", "conversation_id": str(scene["customer"].public_id), "state": state}


async def test_someone_recording_in_a_group_shows_in_the_groups_thread(scene):
    async with inbox_socket(scene["agent"]) as agent:
        await _ready(agent)

        await post(scene["channel"], fixture_bytes("webhook-presence-update-group.json"))

        assert await agent.receive_json_from(timeout=3) == {
            "type": "presence", "conversation_id": str(scene["group"].public_id), "state": "recording"}


async def test_a_stranger_typing_tells_nobody(scene):
    payload = fixture_json("webhook-presence-update.json")
    payload["data"] = {"id": "15555550199@s.whatsapp.net",
                       "presences": {"15555550199@s.whatsapp.net": {"lastKnownPresence": "composing"}}}
    async with inbox_socket(scene["agent"]) as agent:
        await _ready(agent)

        assert await post(scene["channel"], json.dumps(payload).encode()) == 200

        await _nothing(agent)
