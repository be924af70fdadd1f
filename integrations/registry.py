"""The one list of channel kinds: which provider package serves each.

Adding a provider is its package under integrations/ and one line here. Everything else
(the settings pages, the API's choice of kinds, Django admin, health, the demo data, the
sweeps) asks this registry, and the core learns the kinds from it (channels_app.kinds)."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

from django.utils.module_loading import import_string

from channels_app.kinds import kinds_register
from channels_app.models import Channel
from integrations.base import ChannelAdapter, DemoChannel

PROVIDERS: tuple[str, ...] = (
    "integrations.whatsapp_cloud.adapter.WhatsAppCloudAdapter",
    "integrations.api_channel.adapter.ApiChannelAdapter",
    "integrations.evolution.adapter.WhatsAppEvolutionAdapter",
    "integrations.baileys_service.adapter.ConnectionServiceAdapter",
)


@cache
def adapter_classes() -> dict[str, type[ChannelAdapter]]:
    """The registered adapters by kind, in the order of PROVIDERS."""
    classes: dict[str, type[ChannelAdapter]] = {}
    for path in PROVIDERS:
        adapter: type[ChannelAdapter] = import_string(path)
        classes[adapter.kind] = adapter
    return classes


def adapter_class_for(kind: str) -> type[ChannelAdapter] | None:
    return adapter_classes().get(kind)


def adapter_for(channel: Channel) -> ChannelAdapter | None:
    adapter = adapter_classes().get(channel.kind)
    return adapter(channel) if adapter is not None else None


def has_adapter(kind: str) -> bool:
    return kind in adapter_classes()


def kinds_with(capability: str) -> list[str]:
    """The kinds whose adapter has this capability (e.g. "templates")."""
    return [kind for kind, adapter in adapter_classes().items() if getattr(adapter.capabilities, capability)]


def provider_api_urlpatterns() -> list[Any]:
    """The API endpoints of the providers that have some (config.api.urls mounts them)."""
    return [pattern for adapter in adapter_classes().values() if adapter.api_urls
            for pattern in import_module(adapter.api_urls).urlpatterns]


def demo_channels(*, tenant_slug: str, tenant_name: str, number: int) -> list[tuple[str, DemoChannel]]:
    """(kind, demo channel) of every provider, in registry order (settings.DEMO_CHANNELS: the
    demo data, in the core, asks through it)."""
    return [(kind, demo) for kind, adapter in adapter_classes().items()
            for demo in adapter.demo_channels(tenant_slug=tenant_slug, tenant_name=tenant_name, number=number)]


def registry_ready() -> None:
    """Tell the core which kinds there are (integrations.apps, when the apps are ready)."""
    kinds_register(adapter.channel_kind() for adapter in adapter_classes().values())
