"""Which adapter serves which channel kind: the one place that maps kinds to providers."""

from __future__ import annotations

from django.utils.module_loading import import_string

from channels_app.models import Channel
from integrations.base import ChannelAdapter

ADAPTERS: dict[str, str] = {
    Channel.Kind.WHATSAPP_CLOUD: "integrations.whatsapp_cloud.adapter.WhatsAppCloudAdapter",
    Channel.Kind.API: "integrations.api_channel.adapter.ApiChannelAdapter",
}


def adapter_class_for(kind: str) -> type[ChannelAdapter]:
    return import_string(ADAPTERS[kind])


def adapter_for(channel: Channel) -> ChannelAdapter | None:
    return adapter_class_for(channel.kind)(channel) if channel.kind in ADAPTERS else None


def has_adapter(kind: str) -> bool:
    return kind in ADAPTERS
