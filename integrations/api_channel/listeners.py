from __future__ import annotations

from channels_app.models import Channel
from config.events import DomainEvent
from integrations.api_channel.tasks import api_channel_deliver


def reply_created(event: DomainEvent) -> None:
    """Hand an agent's reply on an API channel to the delivery task."""
    if event.name != "message.created" or getattr(event, "direction", "") != "OUTBOUND" or event.private:
        return
    if Channel.all_objects.filter(pk=event.channel_id, kind=Channel.Kind.API).exists():
        api_channel_deliver.delay(message_id=event.message_id)
