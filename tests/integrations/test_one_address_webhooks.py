"""What the adapter contract says of providers that post many channels' events to one address,
and of an installation that provides a provider's server (integrations.base): asked by the
seeds' unified webhooks and one-call connect (integrations.seed_contracts)."""

from __future__ import annotations

import pytest

from integrations.registry import adapter_class_for, adapter_classes
from tests import factories

pytestmark = pytest.mark.django_db


def _adapter(kind: str):
    adapter = adapter_class_for(kind)
    assert adapter is not None
    return adapter


@pytest.mark.parametrize("kind,body,config", [
    ("whatsapp_evolution", b'{"event": "messages.upsert", "instance": "acme-loja", "data": {}}', {"instance": "acme-loja"}),
    ("whatsapp_gateway", b'{"event": "message", "tenantId": "inbox-0123", "data": {}}', {"session_id": "inbox-0123"}),
])
def test_a_unified_webhook_names_its_channel_by_what_its_config_keeps(kind, body, config, acme):
    named = factories.ChannelFactory(tenant=acme, kind=kind, config=config)
    factories.ChannelFactory(tenant=acme, kind=kind, config={key: "another" for key in config})

    found = type(named).all_objects.filter(_adapter(kind).webhook_channels_named(body), kind=kind)

    assert list(found) == [named]


@pytest.mark.parametrize("body", [b"{}", b"null", b"[]", b'{"instance": 1, "tenantId": ["x"]}', b'{"instance": " "}',
                                  b"\xff\xfe", b"not json", b"[" * 200 + b"]" * 200])
def test_a_body_that_names_nothing_names_no_channel(body):
    for kind in ("whatsapp_evolution", "whatsapp_gateway"):
        assert _adapter(kind).webhook_channels_named(body) is None


def test_providers_with_an_address_per_channel_name_none_by_body():
    assert _adapter("whatsapp_cloud").webhook_channels_named(b'{"instance": "x", "tenantId": "y"}') is None
    assert _adapter("api").webhook_channels_named(b'{"instance": "x", "tenantId": "y"}') is None


def test_which_kinds_need_nothing_but_a_name_here(settings):
    settings.EVOLUTION_API_URL, settings.EVOLUTION_API_KEY = "http://evolution.test", "key"
    settings.CONNECTION_SERVICE_URL = settings.WHATSAPP_MICROSERVICE_URL = ""

    assert {kind: adapter.connects_without_settings() for kind, adapter in adapter_classes().items()} == {
        "whatsapp_cloud": False, "api": False, "whatsapp_evolution": True, "whatsapp_gateway": False}

    settings.EVOLUTION_API_KEY = ""  # a server without its global key creates no instance
    settings.WHATSAPP_MICROSERVICE_URL = "http://service.test"  # seed 003's name of the setting
    assert not _adapter("whatsapp_evolution").connects_without_settings()
    assert _adapter("whatsapp_gateway").connects_without_settings()
