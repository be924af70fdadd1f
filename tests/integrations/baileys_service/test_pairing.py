"""Connecting and pairing a number through the connection service, against its simulator, in
both of the seeds' path styles: the channel's settings checked when it is saved, the QR code,
a simulated scan whose webhook makes the channel CONNECTED, and the pairing operations the
settings page, the API and Celery beat call."""

from __future__ import annotations

import pytest
from django.utils import translation

from accounts.models import Role
from channels_app.models import Channel
from integrations.baileys_service.adapter import ConnectionServiceAdapter
from integrations.baileys_service.simulator import TINY_QR_PNG, ConnectionServiceSimulator
from integrations.pairing import channels_connection_check_all
from tests import factories
from tests.factories import PASSWORD
from tests.integrations.baileys_service.conftest import API_KEY, SESSION

pytestmark = pytest.mark.django_db

# path style → (the simulator's key header, the start call's path, the status call's path)
STYLES = {
    "v1": ("bearer", "/api/v1/sessions/{session}/start", "/api/v1/sessions/{session}/status"),
    "short": ("x-api-key", "/sessions/start", "/sessions/{session}/status"),
}


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN)


def _create(api, admin, *, style="v1", config=None, credentials=None):
    return api(admin).post("/api/v1/channels", {
        "kind": "whatsapp_gateway", "name": "WhatsApp Celular",
        "config": {"path_style": style, **(config or {})}, "credentials": credentials or {}}, format="json")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_connecting_asks_the_service_and_shows_its_qr_code(style, service, api, admin):
    service.auth_header, start_path, status_path = STYLES[style]

    response = _create(api, admin, style=style)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "QR_PENDING"
    assert body["credential_keys"] == ["webhook_secret"]
    channel = Channel.all_objects.get(public_id=body["id"])
    session = channel.config["session_id"]
    assert session.startswith("inbox-") and len(channel.credentials["webhook_secret"]) >= 32
    assert service.sessions[session].status == "qr"
    assert [(request["method"], request["path"]) for request in service.requests] == [
        ("GET", status_path.format(session=session)), ("POST", start_path.format(session=session))]
    pairing = api(admin).get(f"/api/v1/channels/{channel.public_id}/pairing").json()
    assert pairing["status"] == "QR_PENDING" and pairing["qr_code"] == TINY_QR_PNG


def test_each_channel_gets_its_own_session_and_secret(service, api, admin):
    first, second = (_create(api, admin).json()["id"] for _ in range(2))

    one, other = (Channel.all_objects.get(public_id=public_id) for public_id in (first, second))
    assert one.config["session_id"] != other.config["session_id"]
    assert one.credentials["webhook_secret"] != other.credentials["webhook_secret"]


def test_a_refused_key_is_explained_on_the_key(service, api, admin):
    response = _create(api, admin, credentials={"api_key": "not-the-key"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "provider_auth_failed" and "API key" in error["message"]
    assert error["details"]["credentials"] == ["api_key"]
    assert not Channel.all_objects.exists()


def test_an_unreachable_service_is_a_503_and_nothing_is_saved(settings, api, admin):
    settings.CONNECTION_SERVICE_URL = "http://127.0.0.1:9"  # nothing listens there

    response = _create(api, admin)

    assert response.status_code == 503 and response.json()["error"]["code"] == "provider_unreachable"
    assert not Channel.all_objects.exists()


def test_without_a_service_address_the_address_is_asked_for(settings, api, admin):
    settings.CONNECTION_SERVICE_URL = settings.WHATSAPP_MICROSERVICE_URL = ""

    response = _create(api, admin)

    assert response.status_code == 422
    assert response.json()["error"]["details"]["config"] == ["service_url"]
    assert not Channel.all_objects.exists()


def test_a_service_that_refuses_to_start_a_session_is_explained(service, api, admin):
    service.fail_next(404, {"success": False, "error": "Cannot POST"}, operation="start")

    response = _create(api, admin)

    assert response.status_code == 422 and response.json()["error"]["code"] == "provider_rejected"
    error = response.json()["error"]
    assert "session" in error["message"] and "Cannot POST" not in error["message"]  # the service's words apart:
    assert "Cannot POST" in error["details"]["provider_message"]


def test_the_seeds_setting_names_are_read_when_ours_are_not_set(service, settings, api, admin):
    settings.CONNECTION_SERVICE_URL = settings.CONNECTION_SERVICE_API_KEY = ""
    settings.WHATSAPP_MICROSERVICE_URL, settings.WHATSAPP_API_KEY = service.base_url, API_KEY

    assert _create(api, admin).status_code == 201


def test_our_setting_names_win_over_the_seeds(service, settings, api, admin):
    settings.WHATSAPP_MICROSERVICE_URL, settings.WHATSAPP_API_KEY = "http://127.0.0.1:9", "old-key"

    assert _create(api, admin).status_code == 201


def test_a_channels_own_service_and_key_win_over_the_installations(service, settings, api, admin):
    settings.CONNECTION_SERVICE_URL, settings.CONNECTION_SERVICE_API_KEY = "http://127.0.0.1:9", "platform-key"

    response = _create(api, admin, config={"service_url": service.base_url}, credentials={"api_key": API_KEY})

    assert response.status_code == 201 and response.json()["status"] == "QR_PENDING"
    assert response.json()["credential_keys"] == ["api_key", "webhook_secret"]
    assert API_KEY not in response.content.decode()


@pytest.mark.parametrize("style", sorted(STYLES))
def test_pair_shows_a_fresh_qr_code(style, service, api, admin, gateway):
    service.auth_header, start_path, _ = STYLES[style]
    Channel.all_objects.filter(pk=gateway.pk).update(config={**gateway.config, "path_style": style,
                                                             "auth_header": service.auth_header})

    response = api(admin).post(f"/api/v1/channels/{gateway.public_id}/pair", {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "QR_PENDING" and response.json()["qr_code"] == TINY_QR_PNG
    assert service.requests[-1]["path"] == start_path.format(session=SESSION)


def test_pairing_by_a_phone_number_shows_the_qr_code_saying_why(service, api, admin, gateway, settings):
    settings.LANGUAGE_CODE = "en"

    response = api(admin).post(f"/api/v1/channels/{gateway.public_id}/pair", {"phone": "+5511987654321"},
                               format="json")

    body = response.json()
    assert response.status_code == 200 and body["status"] == "QR_PENDING"
    assert body["qr_code"] == TINY_QR_PNG and body["pairing_code"] is None
    assert "QR code only" in body["status_detail"]


def test_pair_on_a_paired_session_says_connected(paired, service, api, admin):
    response = api(admin).post(f"/api/v1/channels/{paired.public_id}/pair", {}, format="json")

    assert response.json()["status"] == "CONNECTED" and response.json()["phone"] == "+15555550100"


@pytest.mark.parametrize("style", sorted(STYLES))
def test_disconnect_deletes_the_session(style, paired, service, api, admin):
    service.auth_header = STYLES[style][0]
    Channel.all_objects.filter(pk=paired.pk).update(config={**paired.config, "path_style": style,
                                                            "auth_header": service.auth_header})

    response = api(admin).post(f"/api/v1/channels/{paired.public_id}/disconnect")

    assert response.status_code == 200 and response.json()["status"] == "DISCONNECTED"
    expected = f"/api/v1/sessions/{SESSION}" if style == "v1" else f"/sessions/{SESSION}"
    assert (service.requests[-1]["method"], service.requests[-1]["path"]) == ("DELETE", expected)
    assert SESSION not in service.sessions


def test_restart_deletes_then_starts_the_session_and_reads_its_state(paired, service, api, admin):
    response = api(admin).post(f"/api/v1/channels/{paired.public_id}/restart")

    assert response.status_code == 200 and response.json()["status"] == "QR_PENDING"
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in service.requests] == [
        ("DELETE", SESSION), ("POST", "start"), ("GET", "status")]


def test_removing_a_channel_deletes_its_session_even_a_gone_one(paired, service):
    adapter = ConnectionServiceAdapter(paired)

    adapter.remove()
    adapter.remove()  # gone already: nothing to do

    assert SESSION not in service.sessions


def test_a_key_refused_while_pairing_flags_the_channel(paired, service, api, admin):
    service.fail_next(401, operation="start")

    response = api(admin).post(f"/api/v1/channels/{paired.public_id}/pair", {}, format="json")

    assert response.status_code >= 400 and response.json()["error"]["code"] == "provider_refused"
    paired.refresh_from_db()
    assert paired.status == Channel.Status.ERROR


def test_the_backstop_poll_reads_the_services_state(service, gateway):
    service.add_session(SESSION)
    service.sessions[SESSION].status, service.sessions[SESSION].phone = "connected", "5511987654321"
    Channel.all_objects.filter(pk=gateway.pk).update(status=Channel.Status.QR_PENDING)

    assert channels_connection_check_all() == 1
    gateway.refresh_from_db()
    assert gateway.status == Channel.Status.CONNECTED and gateway.config["phone"] == "+5511987654321"

    del service.sessions[SESSION]  # the service forgot it (restarted without its store)
    channels_connection_check_all()
    gateway.refresh_from_db()
    assert gateway.status == Channel.Status.DISCONNECTED and gateway.status_detail


def test_the_admin_connects_from_the_settings_page_and_sees_what_to_give_the_service(service, acme, admin, client):
    client.post("/login/", {"email": admin.user.email, "password": PASSWORD})

    response = client.post("/settings/channels/new/whatsapp_gateway/", {
        "name": "WhatsApp Celular", "service_url": "", "api_key": "", "path_style": "v1", "auth_header": "bearer"})

    channel = Channel.all_objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/channels/{channel.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert channel.webhook_url in page and channel.config["session_id"] in page
    assert channel.credentials["webhook_secret"] in page  # a secret step, shown on request
    assert TINY_QR_PNG in page  # the phone panel
    assert channel.status == Channel.Status.QR_PENDING


def test_a_number_moves_here_from_the_cloud_api_in_place(service, acme, admin, api):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", name="WhatsApp Vendas")

    response = api(admin).post(f"/api/v1/channels/{channel.public_id}/transport",
                               {"kind": "whatsapp_gateway", "config": {"path_style": "v1"}}, format="json")

    assert response.status_code == 200, response.content
    channel.refresh_from_db()
    assert channel.kind == "whatsapp_gateway" and channel.status == Channel.Status.QR_PENDING
    assert channel.config["session_id"] in service.sessions


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_scan_on_the_phone_connects_the_channel_through_its_webhook(style, live_server, settings, api, acme,
                                                                       member):
    auth_header = STYLES[style][0]
    with ConnectionServiceSimulator(api_key=API_KEY, auth_header=auth_header) as simulator:
        settings.CONNECTION_SERVICE_URL, settings.CONNECTION_SERVICE_API_KEY = simulator.base_url, API_KEY
        admin = member(acme, Role.TENANT_ADMIN)
        created = _create(api, admin, style=style)
        assert created.status_code == 201 and created.json()["status"] == "QR_PENDING"
        channel = Channel.all_objects.get(public_id=created.json()["id"])
        # What the admin gives the service, from the channel's setup steps.
        with translation.override("en"):
            steps = {step.label: step.value for step in ConnectionServiceAdapter(channel).setup_steps()}
        webhook_url = steps["Webhook URL"].replace(settings.PUBLIC_BASE_URL, live_server.url)
        simulator.add_session(steps["Session id (tenantId)"], webhook_url=webhook_url, secret=steps["Webhook secret"])

        simulator.scan(channel.config["session_id"], phone="5511987654321")

    assert [entry["http_status"] for entry in simulator.webhook_log if entry["event"] == "connection"] == [200]
    channel.refresh_from_db()
    assert channel.status == Channel.Status.CONNECTED
    assert channel.config["phone"] == "+5511987654321" and channel.config["pairing"] == {}


def test_a_session_paired_again_still_posts_to_the_channel(service, gateway):
    """The service's webhook address and secret are its own configuration, not the session's:
    a phone logged out (session deleted) and paired again still reaches the inbox."""
    service.add_session(SESSION, webhook_url="http://127.0.0.1:9/hook", secret="S", connected=True,
                        phone="15555550100")
    adapter = ConnectionServiceAdapter(gateway)

    adapter.disconnect()
    adapter.pair()

    assert (service.sessions[SESSION].webhook_url, service.sessions[SESSION].secret) == ("http://127.0.0.1:9/hook", "S")
