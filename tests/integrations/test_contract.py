"""The adapter contract (integrations/base.py), checked for every registered kind: a new
provider that forgets a method, a capability, its settings, its form, its simulator or its demo
channel fails here, and so does one whose webhooks open without proof."""

from __future__ import annotations

import inspect
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from django import forms

from channels_app.kinds import kind_of
from channels_app.models import Channel
from integrations import base
from integrations.base import (
    Capabilities,
    ChannelAdapter,
    ChannelSettingsForm,
    DemoChannel,
    ProviderSetting,
    SetupStep,
    WebhookBatch,
    WebhookRejected,
)
from integrations.registry import PROVIDERS, adapter_classes

# What each provider must decide for itself, in its own class body (None is a decision too:
# say there is no simulator, no credentials form).
DECLARED = ("kind", "label", "badge", "capabilities", "settings", "form_class", "credentials_form_class",
            "simulator", "api_urls")
# What each provider must implement itself.
IMPLEMENTED = ("verify_webhook", "parse_webhook", "send", "connect", "setup_steps", "demo_channels")
# Capabilities that need a method of their own.
NEEDS = {"templates": "fetch_templates", "read_receipts": "mark_read", "contact_details": "fetch_contact",
         "missed_messages": "messages_since"}


def _own(adapter: type[ChannelAdapter], name: str) -> bool:
    """Whether the provider defines `name` itself (not only the contract's default)."""
    return any(name in vars(klass) for klass in adapter.__mro__
               if klass is not ChannelAdapter and issubclass(klass, ChannelAdapter))


def contract_problems(adapter: type[ChannelAdapter]) -> list[str]:
    problems = [f"{name} is not declared by the adapter itself" for name in DECLARED if name not in vars(adapter)]
    problems += [f"{name} is not implemented" for name in IMPLEMENTED if not _own(adapter, name)]
    capabilities = getattr(adapter, "capabilities", None)
    if not isinstance(capabilities, Capabilities):
        problems.append("capabilities is not a Capabilities")
    else:
        if capabilities.reply_window is not None and not isinstance(capabilities.reply_window, timedelta):
            problems.append("the reply window is not a timedelta")
        problems += [f"capability {capability} needs {method}" for capability, method in NEEDS.items()
                     if getattr(capabilities, capability) and not _own(adapter, method)]
    if not getattr(adapter, "kind", "") or not str(getattr(adapter, "label", "")).strip():
        problems.append("kind and label must be set")
    if not all(isinstance(setting, ProviderSetting) and setting.name.isupper()
               for setting in getattr(adapter, "settings", ()) or ()):
        problems.append("settings must be ProviderSettings named like environment variables")
    form = getattr(adapter, "form_class", None)
    if form is not None and not (issubclass(form, ChannelSettingsForm) and "name" in form.base_fields):
        problems.append("form_class must be a ChannelSettingsForm with a name field")
    credentials_form = getattr(adapter, "credentials_form_class", None)
    if credentials_form is not None and not issubclass(credentials_form, forms.Form):
        problems.append("credentials_form_class must be a form")
    return problems


def _simulator(adapter: type[ChannelAdapter]) -> ModuleType | None:
    from importlib import import_module

    return import_module(adapter.simulator) if adapter.simulator else None


ADAPTERS = list(adapter_classes().values())


def test_the_registry_lists_each_kind_once():
    kinds = [adapter.kind for adapter in ADAPTERS]
    assert len(PROVIDERS) == len(kinds) == len(set(kinds))
    assert [kind.value for kind in map(kind_of, kinds) if kind.available] == kinds


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.kind)
def test_every_registered_kind_implements_the_whole_contract(adapter):
    assert contract_problems(adapter) == []


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.kind)
def test_its_simulator_can_be_run_by_the_simulator_command(adapter):
    simulator = _simulator(adapter)
    if simulator is None:
        assert "simulator" in vars(adapter)  # declared as none (the API channel: the integrator is the provider)
        return
    assert callable(simulator.add_arguments) and callable(simulator.run) and simulator.HELP


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.kind)
def test_its_webhooks_open_only_with_proof(adapter):
    channel = Channel(kind=adapter.kind, name="x", config={}, credentials={})
    with pytest.raises(WebhookRejected):
        adapter(channel).verify_webhook(body=b'{"anything": 1}', headers={})


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.kind)
def test_an_unreadable_body_is_a_value_error_or_nothing(adapter):
    channel = Channel(kind=adapter.kind, name="x", config={}, credentials={})
    for body in (b"", b"not json", b"[]", b'{"object": "something else"}'):
        try:
            batch = adapter(channel).parse_webhook(body)
        except (ValueError, KeyError, TypeError):
            continue
        assert isinstance(batch, WebhookBatch) and not batch.updates


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.kind)
def test_its_demo_channels_and_setup_steps_are_well_formed(adapter):
    demos = adapter.demo_channels(tenant_slug="acme", tenant_name="Acme", number=1)
    assert all(isinstance(demo, DemoChannel) and demo.role and demo.name for demo in demos)
    assert all(demo.address(digits="5511987654321", email="a@b.example", index=3) for demo in demos)
    channel = Channel(kind=adapter.kind, name="x", config=demos[0].config if demos else {},
                      credentials=demos[0].credentials if demos else {})
    channel.pk = 1
    steps = adapter(channel).setup_steps()
    assert all(isinstance(step, SetupStep) and step.label for step in steps)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.kind)
def test_the_core_learns_its_capabilities(adapter):
    kind = kind_of(adapter.kind)
    assert (kind.label, kind.badge, kind.reply_window, kind.templates) == (
        adapter.label, adapter.badge, adapter.capabilities.reply_window, adapter.capabilities.templates)


def test_an_adapter_that_forgets_part_of_the_contract_is_caught():
    class Forgetful(ChannelAdapter):
        kind = "forgetful"
        label = "Forgetful"
        capabilities = Capabilities(templates=True, missed_messages=True)

        def verify_webhook(self, *, body: bytes, headers: Any) -> str:
            return ""

        def parse_webhook(self, body: bytes) -> WebhookBatch:
            return WebhookBatch()

        def send(self, message: base.OutboundMessage) -> base.SendResult:
            return base.SendResult(provider_message_id="x")

    problems = contract_problems(Forgetful)

    assert "badge is not declared by the adapter itself" in problems
    assert "simulator is not declared by the adapter itself" in problems
    assert "connect is not implemented" in problems and "demo_channels is not implemented" in problems
    assert "capability templates needs fetch_templates" in problems
    assert "capability missed_messages needs messages_since" in problems


def test_the_contract_is_written_down():
    documented = inspect.getdoc(base) or ""
    for name in (*DECLARED, *IMPLEMENTED, "account", "verify_handshake", "fetch_media", "mark_read",
                 "fetch_templates", "default_throughput_per_second", "fetch_contact", "messages_since",
                 "ContactUpdate", "IncomingDeletion", "IncomingPresence"):
        assert f"`{name}`" in documented, name
