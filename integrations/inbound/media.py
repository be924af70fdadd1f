"""A contact's photo, audio or document: fetched from the provider after its message is stored."""

from __future__ import annotations

from conversations.models import Message
from conversations.services import message_attach_file
from integrations.registry import adapter_for


def inbound_media_fetch_now(*, message_id: int) -> bool:
    """Download the media of a contact's message and keep it as an attachment (once)."""
    message = Message.all_objects.select_related("channel", "conversation").filter(pk=message_id).first()
    if message is None or message.attachments.exists() or "media" not in message.content_attributes:
        return False
    adapter = adapter_for(message.channel)
    media = adapter.fetch_media(message.content_attributes["media"]) if adapter else None
    if media is None:
        return False
    message_attach_file(message=message, data=media.data, content_type=media.content_type, file_name=media.file_name)
    return True
