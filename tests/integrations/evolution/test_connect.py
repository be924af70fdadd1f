"""Connecting an Evolution channel: its instance is created on the server, its webhook set with
the channel's secret, and the first QR code shown; refusals in words an admin can act on."""

from __future__ import annotations

import pytest

from accounts.models import Role
from channels_app.models import Channel
from integrations.evolution.simulator import LICENSE_REQUIRED_BODY
from tests.factories import PASSWORD
from tests.integrations.evolution.conftest import GLOBAL_KEY, fixture_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(acme, member, api):
    return api(member(acme, Role.TENANT_ADMIN))


@pytest.fixture
def fresh(evolution):
    """The simulator without the fixtures' instance: connecting creates one."""
    evolution.instances.clear()
    return evolution


def _body(**overrides):
    return {"kind": "whatsapp_evolution", "name": "WhatsApp Loja", "config": overrides.pop("config", {}),
            "credentials": overrides.pop("credentials", {}), **overrides}


def test_connecting_creates_the_instance_sets_its_webhook_and_shows_the_qr_code(fresh, admin_api, settings):
    settings.PUBLIC_BASE_URL = "https://inbox.example.test"

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    channel = Channel.all_objects.get(public_id=body["id"])
    assert body["status"] == "QR_PENDING"
    assert channel.config["instance"] == "acme-whatsapp-loja"  # from the account and the channel's names
    instance = fresh.instances["acme-whatsapp-loja"]
    assert channel.credentials["instance_token"] == instance.token
    secret = channel.credentials["webhook_secret"]
    assert len(secret) >= 40
    assert instance.webhook["url"] == f"https://inbox.example.test/webhooks/whatsapp_evolution/{channel.webhook_token}"
    assert instance.webhook["headers"]["x-inbox-webhook-secret"] == secret
    # the fixture's events, who contacts and groups are, who is typing (accepted: the simulator refuses
    # names Evolution's webhook settings do not take)
    assert instance.webhook["events"] == [*fixture_json("webhook-set.request.json")["webhook"]["events"],
                                          "CONTACTS_UPSERT", "CONTACTS_UPDATE", "GROUPS_UPSERT", "GROUP_UPDATE",
                                          "PRESENCE_UPDATE"]
    assert instance.webhook["byEvents"] is False and instance.webhook["base64"] is False
    assert instance.settings["groupsIgnore"] is True  # group chats only when asked for
    assert channel.config["pairing"]["qr_code"] == instance.qr_code
    assert set(body["credential_keys"]) == {"instance_token", "webhook_secret"}
    assert secret not in response.content.decode() and instance.token not in response.content.decode()
    paths = [request["path"] for request in fresh.requests]
    assert paths == ["/instance/create", "/webhook/set/acme-whatsapp-loja"]
    create = fresh.requests[0]["body"]
    assert GLOBAL_KEY not in create and '"qrcode":true' in create.replace(" ", "")


def test_the_webhook_secret_in_the_header_opens_the_channels_webhook(fresh, admin_api, client):
    channel_id = admin_api.post("/api/v1/channels", _body(), format="json").json()["id"]
    channel = Channel.all_objects.get(public_id=channel_id)
    header = fresh.instances[channel.config["instance"]].webhook["headers"]["x-inbox-webhook-secret"]

    response = client.post(f"/webhooks/whatsapp_evolution/{channel.webhook_token}", b'{"event":"x","data":{}}',
                           content_type="application/json", HTTP_X_INBOX_WEBHOOK_SECRET=header)

    assert response.status_code == 200


def test_a_chosen_instance_name_and_group_chats(fresh, admin_api):
    response = admin_api.post("/api/v1/channels", _body(config={"instance": "loja-centro", "groups": True}),
                              format="json")

    assert response.status_code == 201
    assert fresh.instances["loja-centro"].settings["groupsIgnore"] is False


def test_a_tenants_own_server_is_used_with_its_own_key(fresh, admin_api, settings):
    settings.EVOLUTION_API_URL, settings.EVOLUTION_API_KEY = "", ""  # no shared server in this installation

    response = admin_api.post("/api/v1/channels", _body(config={"server_url": fresh.base_url},
                                                        credentials={"api_key": GLOBAL_KEY}), format="json")

    assert response.status_code == 201, response.content
    assert set(response.json()["credential_keys"]) == {"api_key", "instance_token", "webhook_secret"}
    assert len(fresh.instances) == 1


def test_an_own_server_without_its_key_is_explained(fresh, admin_api):
    response = admin_api.post("/api/v1/channels", _body(config={"server_url": fresh.base_url}), format="json")

    assert response.status_code == 422 and "api_key" in response.json()["error"]["details"]
    assert not fresh.requests


def test_no_server_at_all_is_explained(admin_api, settings):
    settings.EVOLUTION_API_URL, settings.EVOLUTION_API_KEY = "", ""

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 422
    assert "server_url" in response.json()["error"]["details"]


def test_a_refused_api_key_is_explained(fresh, admin_api, settings):
    settings.EVOLUTION_API_KEY = "wrong-key"

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "provider_auth_failed" and "API key" in error["message"]
    assert "api_key" in error["details"]
    assert not Channel.all_objects.exists() and fresh.instances == {}


def test_an_instance_name_in_use_is_explained_on_its_field(evolution, admin_api):
    response = admin_api.post("/api/v1/channels", _body(config={"instance": "inbox-test"}), format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert "inbox-test" in error["message"] and "instance_name" in error["details"]
    assert not Channel.all_objects.exists()


def test_an_unreachable_server_is_a_503_and_nothing_is_saved(admin_api, settings):
    settings.EVOLUTION_API_URL, settings.EVOLUTION_API_KEY = "http://127.0.0.1:9", GLOBAL_KEY

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 503 and response.json()["error"]["code"] == "provider_unreachable"
    assert not Channel.all_objects.exists()


def test_an_unactivated_evolution_is_explained(fresh, admin_api):
    fresh.license_required = True

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 422 and "licence" in response.json()["error"]["message"]
    assert LICENSE_REQUIRED_BODY["code"] == "LICENSE_REQUIRED"


def test_a_webhook_that_cannot_be_set_removes_the_new_instance(fresh, admin_api):
    """Otherwise connecting again would find its name taken by an instance nobody has the token of."""
    fresh.fail_next(500, path="/webhook/set/")

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 503
    assert not Channel.all_objects.exists() and fresh.instances == {}
    again = admin_api.post("/api/v1/channels", _body(), format="json")
    assert again.status_code == 201


def test_changing_the_settings_sets_the_webhook_again_without_a_new_instance(fresh, admin_api):
    channel_id = admin_api.post("/api/v1/channels", _body(), format="json").json()["id"]
    channel = Channel.all_objects.get(public_id=channel_id)
    fresh.scan(channel.config["instance"], "5511987654321")
    fresh.requests.clear()

    response = admin_api.patch(f"/api/v1/channels/{channel_id}", {"config": {**channel.config, "groups": True}},
                               format="json")

    assert response.status_code == 200, response.content
    assert [request["path"] for request in fresh.requests] == [
        f"/webhook/set/{channel.config['instance']}", f"/instance/connectionState/{channel.config['instance']}"]
    assert response.json()["status"] == "CONNECTED"
    assert Channel.all_objects.get(pk=channel.pk).credentials["webhook_secret"] == channel.credentials["webhook_secret"]


def test_the_settings_page_connects_a_channel_and_says_how_to_pair(fresh, acme, member, client):
    client.post("/login/", {"email": member(acme, Role.TENANT_ADMIN).user.email, "password": PASSWORD})

    form = client.get("/settings/channels/new/whatsapp_evolution/")
    created = client.post("/settings/channels/new/whatsapp_evolution/",
                          {"name": "WhatsApp Loja", "pairing": "WHATSAPP-BAILEYS", "instance_name": ""})

    assert form.status_code == 200 and 'name="instance_name"' in form.content.decode()
    channel = Channel.all_objects.get(kind="whatsapp_evolution")
    assert created.status_code == 302 and created["Location"] == f"/settings/channels/{channel.public_id}/"
    assert channel.status == Channel.Status.QR_PENDING and channel.config["instance"] in fresh.instances
    page = client.get(created["Location"]).content.decode()
    assert "Linked devices" in page or "Aparelhos conectados" in page
    assert channel.webhook_url in page and channel.config["instance"] in page
    assert channel.credentials["instance_token"] not in page


def test_a_refused_key_is_explained_on_the_form_and_never_echoed(fresh, acme, member, client):
    client.post("/login/", {"email": member(acme, Role.TENANT_ADMIN).user.email, "password": PASSWORD})

    response = client.post("/settings/channels/new/whatsapp_evolution/", {
        "name": "WA", "pairing": "WHATSAPP-BAILEYS", "server_url": fresh.base_url, "api_key": "typed-but-refused"})

    assert response.status_code == 400 and 'class="form-error"' in response.content.decode()
    assert "typed-but-refused" not in response.content.decode()
    assert not Channel.all_objects.exists()


def test_the_form_wants_both_or_neither_of_the_own_servers_fields():
    from integrations.evolution.forms import WhatsAppEvolutionForm

    half = WhatsAppEvolutionForm({"name": "WA", "pairing": "WHATSAPP-BAILEYS", "server_url": "https://evo.example.com"})
    whole = WhatsAppEvolutionForm({"name": "WA", "pairing": "WHATSAPP-BAILEYS", "server_url": "https://evo.example.com",
                                   "api_key": "K", "instance_name": "loja-1", "groups": "on"})

    assert not half.is_valid() and "api_key" in half.errors
    assert whole.is_valid(), whole.errors
    settings = whole.channel_settings()
    assert settings.config == {"integration": "WHATSAPP-BAILEYS", "groups": True, "instance": "loja-1",
                               "server_url": "https://evo.example.com"}
    assert settings.credentials == {"api_key": "K"}
