"""Connecting a WhatsApp Cloud channel: what the admin typed is checked with the Graph API."""

from __future__ import annotations

import pytest

from accounts.models import Role
from channels_app.models import Channel
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET

pytestmark = pytest.mark.django_db


def _body(**overrides):
    config = {"phone_number_id": "100000000000002", "waba_id": "100000000000001"}
    credentials = {"access_token": "EAAG-test-token", "app_secret": APP_SECRET}
    config.update(overrides.pop("config", {}))
    credentials.update(overrides.pop("credentials", {}))
    return {"kind": "whatsapp_cloud", "name": "WhatsApp Vendas", "config": config, "credentials": credentials,
            **overrides}


@pytest.fixture
def admin_api(acme, member, api):
    return api(member(acme, Role.TENANT_ADMIN))


def test_valid_credentials_connect_the_channel(graph, admin_api):
    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "CONNECTED"
    assert body["config"]["display_phone_number"] == "+15555550100"
    assert body["config"]["messaging_limit_tier"] == "TIER_1K"  # asked for: Meta gives it only then
    assert body["credential_keys"] == ["access_token", "app_secret", "verify_token"]
    assert "EAAG-test-token" not in response.content.decode() and APP_SECRET not in response.content.decode()
    channel = Channel.all_objects.get(public_id=body["id"])
    assert len(channel.credentials["verify_token"]) >= 20  # generated, to paste into Meta


def test_a_wrong_token_is_explained(graph, admin_api):
    response = admin_api.post("/api/v1/channels", _body(credentials={"access_token": "nope"}), format="json")

    assert response.status_code == 422  # refused by the provider, or by what it needs
    error = response.json()["error"]
    assert error["code"] == "provider_auth_failed" and "access token" in error["message"]
    assert not Channel.all_objects.exists()


def test_a_wrong_phone_number_id_is_explained(graph, admin_api):
    response = admin_api.post("/api/v1/channels", _body(config={"phone_number_id": "999"}), format="json")

    assert response.status_code == 422  # refused by the provider, or by what it needs
    assert response.json()["error"]["code"] == "provider_rejected"
    assert "999" in response.json()["error"]["message"]


def test_missing_fields_are_named(admin_api):
    response = admin_api.post("/api/v1/channels", {"kind": "whatsapp_cloud", "name": "WA"}, format="json")

    assert response.status_code == 422  # refused by the provider, or by what it needs
    assert set(response.json()["error"]["details"]["missing"]) == {"phone_number_id", "waba_id", "access_token",
                                                                    "app_secret"}


def test_meta_unreachable_is_a_503_and_nothing_is_saved(admin_api, settings):
    settings.WHATSAPP_GRAPH_API_URL = "http://127.0.0.1:9"  # nothing listens there

    response = admin_api.post("/api/v1/channels", _body(), format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_unreachable"
    assert not Channel.all_objects.exists()


def test_changing_the_token_checks_it_again(graph, admin_api):
    channel_id = admin_api.post("/api/v1/channels", _body(), format="json").json()["id"]

    refused = admin_api.patch(f"/api/v1/channels/{channel_id}", {"credentials": {"access_token": "revoked"}},
                              format="json")

    assert refused.status_code == 422
    assert Channel.all_objects.get(public_id=channel_id).credentials["access_token"] == "EAAG-test-token"


def test_meta_unreachable_is_explained_in_the_readers_language_with_metas_words_apart(admin_api, settings):
    settings.WHATSAPP_GRAPH_API_URL = "http://127.0.0.1:9"  # nothing listens there

    response = admin_api.post("/api/v1/channels", _body(), format="json", HTTP_ACCEPT_LANGUAGE="pt-br")

    error = response.json()["error"]
    assert error["message"] == "Não foi possível contatar o provedor para verificar o canal. Tente de novo em instantes."
    assert error["details"]["provider_message"].startswith("WhatsApp could not be reached")


def test_the_settings_form_shows_metas_words_behind_details(acme, member, client, settings):
    from tests.factories import PASSWORD

    settings.WHATSAPP_GRAPH_API_URL = "http://127.0.0.1:9"
    client.post("/login/", {"email": member(acme, Role.TENANT_ADMIN).user.email, "password": PASSWORD})

    response = client.post("/settings/channels/new/whatsapp_cloud/", {
        "name": "WA", "phone_number_id": "100000000000002", "waba_id": "100000000000001",
        "access_token": "EAAG-test-token", "app_secret": APP_SECRET})

    page = response.content.decode()
    assert response.status_code == 400
    assert "<p>Não foi possível contatar o provedor para verificar o canal. Tente de novo em instantes.</p>" in page
    assert '<details class="error-details"><summary>Detalhes</summary><code>WhatsApp could not be reached' in page
