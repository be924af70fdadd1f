"""Pairing an Evolution channel with a phone: the adapter's pairing operations against the
simulator, and the whole way from connecting to a scanned QR code through the real webhook
endpoint (channel_pairing_update is the pipeline's)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from channels_app.models import Channel
from integrations.base import ProviderPermanentError
from integrations.evolution.adapter import WhatsAppEvolutionAdapter
from integrations.evolution.simulator import EvolutionSimulator
from tests.integrations.evolution.conftest import GLOBAL_KEY, INSTANCE, fixture_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(evolution, evolution_channel):
    return WhatsAppEvolutionAdapter(evolution_channel)


def test_pair_gives_the_qr_code_to_scan(evolution, adapter):
    evolution.instances[INSTANCE].state = "close"

    update = adapter.pair()

    instance = evolution.instances[INSTANCE]
    assert (update.status, update.qr_code) == (Channel.Status.QR_PENDING, instance.qr_code)
    assert update.qr_image.startswith("data:image/png;base64,") and update.pairing_code == ""
    assert evolution.requests[-1]["path"] == f"/instance/connect/{INSTANCE}"


def test_pair_with_a_phone_gives_the_code_to_type_on_it(evolution, adapter):
    evolution.instances[INSTANCE].state = "close"

    update = adapter.pair(phone="+55 (11) 98765-4321")

    assert update.status == Channel.Status.QR_PENDING and len(update.pairing_code) == 8
    assert evolution.requests[-1]["path"] == f"/instance/connect/{INSTANCE}?number=5511987654321"


def test_pair_when_paired_already_says_so(adapter):
    assert adapter.pair().status == Channel.Status.CONNECTED


@pytest.mark.parametrize("answer,status", [
    ("instance-connect.response.json", Channel.Status.QR_PENDING),
    ("instance-connect-with-number.response.json", Channel.Status.QR_PENDING),
    ("instance-connect-not-ready.response.json", Channel.Status.CONNECTING),
    ("instance-connect-already-open.response.json", Channel.Status.CONNECTED),
])
def test_each_answer_of_connect_is_read(evolution, adapter, answer, status):
    evolution.fail_next(200, fixture_json(answer), path="/instance/connect/")

    update = adapter.pair()

    assert update.status == status
    if answer == "instance-connect-with-number.response.json":
        assert update.pairing_code == "WZYEH1YY"


def test_an_error_evolution_answers_with_200_is_an_error(evolution, adapter):
    evolution.fail_next(200, {"error": True, "message": 'Error: The "inbox-test" instance does not exist'},
                        path="/instance/connect/")

    with pytest.raises(ProviderPermanentError, match="does not exist"):
        adapter.pair()


@pytest.mark.parametrize("state,status", [("open", Channel.Status.CONNECTED),
                                          ("connecting", Channel.Status.CONNECTING),
                                          ("close", Channel.Status.DISCONNECTED)])
def test_the_connection_state_as_evolution_reports_it(evolution, adapter, state, status):
    evolution.instances[INSTANCE].state = state

    assert adapter.connection_state().status == status


def test_disconnect_logs_the_phone_out_and_twice_is_harmless(evolution, adapter):
    adapter.disconnect()
    adapter.disconnect()  # Evolution: 400 "not connected": done already

    assert evolution.instances[INSTANCE].state == "close"
    assert [request["status"] for request in evolution.requests] == [200, 400]


def test_restart_and_remove(evolution, adapter):
    adapter.restart()
    adapter.remove()
    adapter.remove()  # gone already: done

    assert INSTANCE not in evolution.instances
    assert [request["path"].split("/")[2] for request in evolution.requests] == ["restart", "delete", "delete"]


@pytest.mark.django_db(transaction=True)
def test_from_connecting_to_a_scanned_qr_code_to_a_logout_on_the_phone(live_server, settings, acme, member, api):
    settings.PUBLIC_BASE_URL = live_server.url
    with EvolutionSimulator(api_key=GLOBAL_KEY, status_progression=()) as simulator:
        settings.EVOLUTION_API_URL, settings.EVOLUTION_API_KEY = simulator.base_url, GLOBAL_KEY
        admin = api(member(acme, Role.TENANT_ADMIN))

        created = admin.post("/api/v1/channels", {"kind": "whatsapp_evolution", "name": "WhatsApp Loja"},
                             format="json")
        assert created.status_code == 201, created.content
        channel = Channel.all_objects.get(public_id=created.json()["id"])
        first_code = channel.config["pairing"]["qr_code"]
        assert channel.status == Channel.Status.QR_PENDING and first_code
        # The first QR's webhook races the channel's commit: before it, a 404 (dropped); after it,
        # a 200 (the same code again).
        simulator.wait_for_webhooks(10)

        new_code = simulator.refresh_qr(channel.config["instance"])
        assert simulator.wait_for_webhooks(10)
        channel.refresh_from_db()
        assert channel.config["pairing"]["qr_code"] == new_code != first_code

        simulator.scan(channel.config["instance"], "5511987654321")
        assert simulator.wait_for_webhooks(10)
        channel.refresh_from_db()
        assert channel.status == Channel.Status.CONNECTED
        assert channel.config["phone"] == "+5511987654321" and channel.config["pairing"] == {}

        simulator.close(channel.config["instance"], reason=401)
        assert simulator.wait_for_webhooks(10)
        channel.refresh_from_db()
        assert channel.status == Channel.Status.DISCONNECTED and "Logged out on the phone" in channel.status_detail

    statuses = [entry["http_status"] for entry in simulator.webhook_log]
    assert statuses[0] in (404, 200) and statuses[1:] == [200, 200, 200]


@pytest.mark.django_db(transaction=True)
def test_qr_codes_that_run_out_unscanned_put_the_channel_in_error(live_server, settings, evolution_channel):
    webhook_url = f"{live_server.url}/webhooks/whatsapp_evolution/{evolution_channel.webhook_token}"
    with EvolutionSimulator(status_progression=()) as simulator:
        simulator.add_instance(INSTANCE, webhook_url=webhook_url,
                               webhook_headers={"x-inbox-webhook-secret": evolution_channel.credentials["webhook_secret"]})
        simulator.refresh_qr(INSTANCE)
        simulator.expire_qr(INSTANCE)
        assert simulator.wait_for_webhooks(10)

    evolution_channel.refresh_from_db()
    assert evolution_channel.status == Channel.Status.ERROR and "start the pairing again" in evolution_channel.status_detail
    assert evolution_channel.config["pairing"] == {}
