"""Which adapter serves which channel kind: the one place that maps kinds to providers."""

from __future__ import annotations

from django.utils.module_loading import import_string

from channels_app.models import Channel
from integrations.base import ChannelAdapter

ADAPTERS: dict[str, str] = {
    Channel.Kind.WHATSAPP_CLOUD: "integrations.whatsapp_cloud.adapter.WhatsAppCloudAdapter",
}


def adapter_for(channel: Channel) -> ChannelAdapter | None:
    path = ADAPTERS.get(channel.kind)
    return import_string(path)(channel) if path else None


def has_adapter(kind: str) -> bool:
    return kind in ADAPTERS
