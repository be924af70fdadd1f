from __future__ import annotations

from celery import shared_task

from channels_app.models import Channel
from conversations.models import Message
from conversations.services import message_status_update


@shared_task(acks_late=True)
def api_channel_deliver(*, message_id: int) -> None:
    """The integrator receives replies as events; once committed, a reply is sent.
    Re-running it is harmless: the status only moves forward."""
    message = Message.all_objects.select_related("channel").filter(pk=message_id).first()
    if message is None or message.channel.kind != Channel.Kind.API or message.status != Message.Status.PENDING:
        return
    message_status_update(message=message, status=Message.Status.SENT, provider_message_id=f"api-{message.pk}")
