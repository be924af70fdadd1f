"""Evolution's Cloud API mode: an instance that drives Meta's Cloud API for a number (integration
WHATSAPP-BUSINESS) instead of a phone paired by QR code. Meta's token and phone number id are
checked with the Graph API (the WhatsApp Cloud provider's own check) before anything is created
at Evolution; the instance is open at once, and no QR code is ever offered."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import Role
from channels_app.models import Channel
from config.errors import ApplicationError
from integrations.evolution.forms import CLOUD_API, WhatsAppEvolutionForm
from integrations.pairing import channel_disconnect
from integrations.registry import adapter_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

META_TOKEN = "EAAG-evolution-cloud-token"
PHONE_NUMBER_ID = "100000000000007"
WABA_ID = "100000000000001"


@pytest.fixture
def graph(settings):
    """The Graph API simulator in Meta's place, knowing the number and its token."""
    from integrations.whatsapp_cloud.simulator import GraphSimulator

    simulator = GraphSimulator(status_progression=())
    simulator.start()
    simulator.add_number(PHONE_NUMBER_ID, token=META_TOKEN, app_secret="FAKE_APP_SECRET", waba_id=WABA_ID)
    settings.WHATSAPP_GRAPH_API_URL = simulator.base_url
    settings.WHATSAPP_GRAPH_API_VERSION = simulator.version
    yield simulator
    simulator.stop()


@pytest.fixture
def fresh(evolution):
    """The Evolution simulator without the fixtures' instance: connecting creates one."""
    evolution.instances.clear()
    return evolution


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN)


@pytest.fixture
def page(admin):
    client = Client()
    assert client.post("/login/", {"email": admin.user.email, "password": PASSWORD}).status_code == 302
    return client


def _form(**changes):
    return {"name": "WhatsApp Oficial", "pairing": CLOUD_API, "access_token": META_TOKEN,
            "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID, **changes}


def test_the_forms_cloud_api_choice_builds_its_settings():
    form = WhatsAppEvolutionForm(_form(groups="on"))

    assert form.is_valid(), form.errors
    settings = form.channel_settings()
    assert settings.config == {"integration": "WHATSAPP-BUSINESS", "groups": False,
                               "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}
    assert settings.credentials == {"access_token": META_TOKEN}  # the token with the secrets, not in config


def test_the_cloud_api_choice_needs_its_three_fields_and_qr_pairing_none():
    form = WhatsAppEvolutionForm(_form(access_token="", phone_number_id="", business_account_id=""))

    assert not form.is_valid()
    assert set(form.errors) == {"access_token", "phone_number_id", "business_account_id"}
    assert WhatsAppEvolutionForm({"name": "WhatsApp", "pairing": "WHATSAPP-BAILEYS"}).is_valid()


def test_a_token_meta_refuses_is_explained_and_nothing_is_created_at_evolution(graph, fresh, page):
    response = page.post("/settings/channels/new/whatsapp_evolution/", _form(access_token="EAAG-revoked"))

    assert response.status_code == 400
    assert "190" in response.content.decode()  # Meta's code for a refused token, in the Cloud provider's words
    assert not Channel.all_objects.exists()
    assert list(fresh.requests) == [] and fresh.instances == {}


def test_the_refusal_through_the_api_names_the_token(graph, fresh, admin, api):
    response = api(admin).post("/api/v1/channels", {
        "kind": "whatsapp_evolution", "name": "WhatsApp Oficial",
        "config": {"integration": CLOUD_API, "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID},
        "credentials": {"access_token": "EAAG-revoked"}}, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "provider_auth_failed" and "access token" in error["message"]
    assert error["details"] == {"credentials": ["access_token"]}
    assert list(fresh.requests) == [] and not Channel.all_objects.exists()


def test_a_good_token_creates_a_cloud_api_instance_connected_without_a_qr_code(graph, fresh, page, settings):
    settings.PUBLIC_BASE_URL = "https://inbox.example.test"

    response = page.post("/settings/channels/new/whatsapp_evolution/", _form())

    channel = Channel.all_objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    create = json.loads(fresh.requests[0]["body"])
    assert [request["path"] for request in fresh.requests] == ["/instance/create",
                                                              f"/webhook/set/{channel.config['instance']}"]
    assert (create["integration"], create["token"], create["number"], create["businessId"]) == (
        "WHATSAPP-BUSINESS", META_TOKEN, PHONE_NUMBER_ID, WABA_ID)
    assert create["qrcode"] is False
    instance = fresh.instances[channel.config["instance"]]
    assert instance.integration == "WHATSAPP-BUSINESS" and instance.state == "open"
    assert instance.webhook["url"] == f"https://inbox.example.test/webhooks/whatsapp_evolution/{channel.webhook_token}"
    assert instance.webhook["headers"]["x-inbox-webhook-secret"] == channel.credentials["webhook_secret"]
    assert channel.status == Channel.Status.CONNECTED
    assert channel.config["pairing"] == {}  # no QR code, ever
    assert channel.credentials["instance_token"] == META_TOKEN  # Evolution makes Meta's token the instance's
    assert channel.config["phone"] == "+15555550100"  # what Meta says of the number
    assert channel.config["meta_webhook_url"] == f"{fresh.base_url}/webhook/meta"


def test_its_settings_page_shows_no_qr_panel_but_where_meta_must_post(graph, fresh, page):
    page.post("/settings/channels/new/whatsapp_evolution/", _form())
    channel = Channel.all_objects.get()

    shown = page.get(f"/settings/channels/{channel.public_id}/").content.decode()

    assert 'id="pairing"' not in shown and "pairing.js" not in shown and 'id="pairing-qr"' not in shown
    assert f"{fresh.base_url}/webhook/meta" in shown  # Evolution's callback URL, for Meta's console
    assert META_TOKEN not in shown


def test_asking_for_a_qr_code_answers_connected_and_disconnecting_is_refused(graph, fresh, page):
    page.post("/settings/channels/new/whatsapp_evolution/", _form())
    channel = Channel.all_objects.get()
    adapter = adapter_for(channel)
    assert adapter is not None and not adapter.pairs_by_qr_code

    update = adapter.pair()
    assert update.status == Channel.Status.CONNECTED and not update.qr_code and not update.pairing_code
    with pytest.raises(ApplicationError) as refused:
        channel_disconnect(channel=channel)
    assert refused.value.code == "provider_refused" and "não há o que desconectar" in refused.value.message
    assert fresh.instances[channel.config["instance"]].state == "open"  # Evolution never asked to log it out
    assert not any("/instance/logout/" in request["path"] for request in fresh.requests)


def test_a_qr_paired_channel_still_shows_its_qr_panel(evolution, evolution_channel, page):
    shown = page.get(f"/settings/channels/{evolution_channel.public_id}/").content.decode()

    assert 'id="pairing"' in shown


def test_the_form_offers_the_choice_in_the_admins_language(page):
    shown = page.get("/settings/channels/new/whatsapp_evolution/").content.decode()

    assert "WhatsApp Cloud API pela Evolution" in shown and 'name="phone_number_id"' in shown
