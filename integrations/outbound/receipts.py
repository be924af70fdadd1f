"""Telling a provider that an agent read a contact's messages (where it supports it)."""

from __future__ import annotations

from conversations.models import Message
from integrations.registry import adapter_for


def message_mark_read_remote(*, message_id: int) -> bool:
    """Tell the message's provider it was read; whether there was anyone to tell."""
    message = Message.all_objects.select_related("channel").filter(
        pk=message_id, direction=Message.Direction.INBOUND, provider_message_id__isnull=False).first()
    adapter = adapter_for(message.channel) if message is not None else None
    if message is None or adapter is None or not adapter.capabilities.read_receipts:
        return False
    adapter.mark_read(message.provider_message_id or "")
    return True
