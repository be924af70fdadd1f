"""The demo's sandbox channel: served by `manage.py simulator whatsapp_evolution --sandbox-channels`
as an instance already paired, and talking to it, never to WhatsApp."""

from __future__ import annotations

import pytest
from django.utils import translation

from channels_app.models import Channel
from channels_app.services import channel_create
from conversations.models import Message
from integrations.evolution.adapter import WhatsAppEvolutionAdapter
from integrations.evolution.simulator.command import simulator_from_options
from integrations.outbound.send import message_deliver_now
from tests import factories
from tests.integrations.evolution.conftest import pending_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_channel(acme):
    (demo,) = WhatsAppEvolutionAdapter.demo_channels(tenant_slug="acme", tenant_name="Acme", number=1)
    return channel_create(tenant=acme, actor=None, kind="whatsapp_evolution", name=demo.name, config=demo.config,
                          credentials=demo.credentials, verify=False)


def _options(**extra):
    return {"host": "127.0.0.1", "port": 0, "api_key": "K", "no_statuses": True, "status_delay": 0.05, **extra}


def test_the_sandbox_simulator_serves_the_demo_channel_paired(sandbox_channel):
    simulator = simulator_from_options(_options(sandbox_channels=True))

    instance = simulator.instances[sandbox_channel.config["instance"]]
    assert instance.state == "open" and f"+{instance.phone}" == sandbox_channel.config["phone"]
    assert instance.token == sandbox_channel.credentials["instance_token"]
    assert instance.webhook["url"] == sandbox_channel.webhook_url
    assert instance.webhook["headers"]["x-inbox-webhook-secret"] == sandbox_channel.credentials["webhook_secret"]


def test_without_sandbox_channels_it_says_so(db):
    from integrations.evolution.simulator import SimulatorError

    with pytest.raises(SimulatorError, match="seed_demo"):
        simulator_from_options(_options(sandbox_channels=True))


def test_a_sandbox_channel_sends_to_the_sandbox_simulator_only(sandbox_channel, settings):
    simulator = simulator_from_options(_options(sandbox_channels=True)).start()
    try:
        settings.EVOLUTION_SANDBOX_URL = simulator.base_url
        settings.EVOLUTION_API_URL = "http://127.0.0.1:9"  # the real server: never asked
        contact = factories.ContactFactory(tenant=sandbox_channel.tenant, phone="+5511912345678")
        factories.ContactIdentityFactory(contact=contact, tenant=sandbox_channel.tenant, channel=sandbox_channel,
                                         external_id="5511912345678")
        conversation = factories.ConversationFactory(tenant=sandbox_channel.tenant, channel=sandbox_channel,
                                                     contact=contact)
        reply = pending_reply(conversation)

        assert message_deliver_now(message_id=reply.pk).status == "sent"
    finally:
        simulator.stop()
    assert Message.all_objects.get(pk=reply.pk).provider_message_id == simulator.sent[0]["id"]
    assert Channel.all_objects.get(pk=sandbox_channel.pk).status == Channel.Status.INACTIVE  # the demo connects it


def test_its_setup_steps_say_it_is_a_sandbox(sandbox_channel):
    with translation.override("en"):
        steps = {step.label: step for step in WhatsAppEvolutionAdapter(sandbox_channel).setup_steps()}

    assert steps["Sandbox"].value.startswith("This channel talks to the local Evolution API simulator")
    assert steps["Webhook header x-inbox-webhook-secret"].secret
