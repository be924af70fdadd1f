"""What the socket tests share: a channel layer per test (with Redis) and a message received
from a contact, as the receive path stores and announces it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from conversations.incoming import IncomingMessage
from conversations.services import message_receive


@pytest.fixture(autouse=True)
def channel_layer_per_test() -> Any:
    """Each test runs in an event loop of its own: with Redis, it gets a channel layer of its
    own too. The layer is cached per process, and channels_redis keeps asyncio locks in it that
    are bound to the loop that first used them (a later test's loop fails on them, now and then).
    Autouse where it is imported."""
    from channels.layers import channel_layers

    redis = settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
    if redis:
        channel_layers.backends.clear()
    yield
    if redis:
        channel_layers.backends.clear()


def message_from_contact(channel: Any, provider_id: str, text: str = "Olá") -> Any:
    message, _ = message_receive(channel=channel, message=IncomingMessage(
        contact_external_id="5511987654321", provider_message_id=provider_id, content=text))
    return message


receive = database_sync_to_async(message_from_contact)
