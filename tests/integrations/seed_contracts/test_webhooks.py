"""The seeds' webhook addresses are aliases of a channel's own webhook URL: fed the providers'
own fixtures, they keep exactly what the canonical endpoint keeps (and make the same messages),
refuse what it refuses with nothing kept, and name a channel only of their tenant and kind."""

from __future__ import annotations

import json

import pytest

from config.crypto import Secrets
from conversations.models import Message
from integrations.baileys_service.events import signature_for
from integrations.models import WebhookEvent
from tests import factories
from tests.integrations.baileys_service.conftest import SECRET, SESSION
from tests.integrations.baileys_service.conftest import fixture_bytes as service_fixture
from tests.integrations.evolution.conftest import INSTANCE, SECRET_HEADER, WEBHOOK_SECRET
from tests.integrations.evolution.conftest import fixture_bytes as evolution_fixture
from tests.integrations.whatsapp_cloud.conftest import FIXTURES as CLOUD_FIXTURES
from tests.integrations.whatsapp_cloud.conftest import fixture_bytes as cloud_fixture
from tests.integrations.whatsapp_cloud.conftest import signature_for as cloud_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def evolution_channel(acme):
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_evolution", name="WhatsApp Celular",
        config={"instance": INSTANCE, "integration": "WHATSAPP-BAILEYS"},
        credentials=Secrets({"instance_token": "T", "webhook_secret": WEBHOOK_SECRET}))


@pytest.fixture
def gateway(acme):
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_gateway", name="WhatsApp Loja",
        config={"session_id": SESSION, "path_style": "v1", "auth_header": "bearer"},
        credentials=Secrets({"webhook_secret": SECRET}))


@pytest.fixture
def cloud(acme):
    return factories.ChannelFactory(
        tenant=acme, kind="whatsapp_cloud", name="WhatsApp Vendas",
        config={"phone_number_id": "100000000000002", "waba_id": "100000000000001"},
        credentials=Secrets({"access_token": "EAAG-test-token", "app_secret": "FAKE_APP_SECRET_0123456789abcdef",
                             "verify_token": "FAKE_VERIFY_TOKEN"}))


def _post(client, url, body: bytes, **headers):
    return client.generic("POST", url, body, content_type="application/json", **headers)


def _kept():
    """What the webhook endpoint kept: (channel, body, proof) of each stored delivery, and the
    messages they made."""
    events = [(event.channel_id, event.body, event.signature, event.status)
              for event in WebhookEvent.all_objects.order_by("pk")]
    messages = [(message.channel_id, message.provider_message_id, message.direction, message.content)
                for message in Message.all_objects.order_by("pk")]
    return events, messages


def _same_as_canonical(client, channel, alias_url, body, headers, capture):
    """Posts `body` to the alias, then (after forgetting it) to the channel's own URL: both keep
    the same rows and make the same messages."""
    with capture(execute=True):
        alias = _post(client, alias_url, body, **headers)
    assert alias.status_code == 200, alias.content
    assert alias.json() == {"received": True}
    through_alias = _kept()
    WebhookEvent.all_objects.all().delete()
    Message.all_objects.all().delete()
    with capture(execute=True):
        canonical = _post(client, f"/webhooks/{channel.kind}/{channel.webhook_token}", body, **headers)
    assert canonical.status_code == 200 and canonical.content == b"ok"
    assert through_alias == _kept() and through_alias[1]  # a message was made, the same one


# --- seed 000: /api/webhooks/whatsapp/{tenantId}/{instanceId} ---------------------------------


def test_the_instance_alias_keeps_what_the_channels_url_keeps(client, acme, evolution_channel,
                                                              django_capture_on_commit_callbacks):
    url = f"/api/webhooks/whatsapp/{acme.public_id}/{evolution_channel.public_id}"

    _same_as_canonical(client, evolution_channel, url, evolution_fixture("webhook-messages-upsert-text.json"),
                       {SECRET_HEADER: WEBHOOK_SECRET}, django_capture_on_commit_callbacks)


def test_the_instance_alias_takes_the_cloud_apis_signed_deliveries(client, acme, cloud,
                                                                   django_capture_on_commit_callbacks):
    body = cloud_fixture("inbound-text.json")
    url = f"/api/webhooks/whatsapp/{acme.public_id}/{cloud.public_id}"

    _same_as_canonical(client, cloud, url, body,
                       {"HTTP_X_HUB_SIGNATURE_256": cloud_signature(body, "FAKE_APP_SECRET_0123456789abcdef")},
                       django_capture_on_commit_callbacks)


def test_the_instance_alias_answers_metas_verification(client, acme, cloud):
    handshake = json.loads((CLOUD_FIXTURES / "verify-handshake.json").read_text())
    url = f"/api/webhooks/whatsapp/{acme.public_id}/{cloud.public_id}"

    good = client.get(url, handshake["request"]["query"])
    bad = client.get(url, {**handshake["request"]["query"], "hub.verify_token": "wrong"})

    assert good.status_code == 200 and good.content.decode() == handshake["expected_response_on_match"]["body"]
    assert bad.status_code == 403


def test_a_wrong_secret_is_a_401_and_nothing_is_kept(client, acme, evolution_channel):
    url = f"/api/webhooks/whatsapp/{acme.public_id}/{evolution_channel.public_id}"

    response = _post(client, url, evolution_fixture("webhook-messages-upsert-text.json"), **{SECRET_HEADER: "wrong"})

    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.all_objects.exists()


def test_the_ids_must_name_one_channel_of_that_tenant(client, acme, globex, evolution_channel):
    theirs = factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution",
                                      credentials=Secrets({"webhook_secret": WEBHOOK_SECRET}))
    api_channel = factories.ChannelFactory(tenant=acme, kind="api")
    archived = factories.ChannelFactory(tenant=acme, kind="whatsapp_evolution", archived_at="2026-01-01T00:00:00Z",
                                        credentials=Secrets({"webhook_secret": WEBHOOK_SECRET}))
    body = evolution_fixture("webhook-messages-upsert-text.json")

    for tenant_id, channel_id in ((globex.public_id, evolution_channel.public_id),  # another tenant's id
                                  (acme.public_id, theirs.public_id),  # another tenant's channel
                                  (acme.public_id, api_channel.public_id),  # not a WhatsApp number
                                  (acme.public_id, archived.public_id)):
        response = _post(client, f"/api/webhooks/whatsapp/{tenant_id}/{channel_id}", body,
                         **{SECRET_HEADER: WEBHOOK_SECRET})
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert _post(client, f"/api/webhooks/whatsapp/{acme.slug}/{evolution_channel.public_id}", body).status_code == 404
    assert not WebhookEvent.all_objects.exists()


# --- seed 001: /api/webhooks/whatsapp ----------------------------------------------------------


def test_the_connection_services_one_address_keeps_what_the_channels_url_keeps(client, gateway,
                                                                              django_capture_on_commit_callbacks):
    body = service_fixture("message-text.json")

    _same_as_canonical(client, gateway, "/api/webhooks/whatsapp", body,
                       {"HTTP_X_WEBHOOK_SIGNATURE": signature_for(body, SECRET)}, django_capture_on_commit_callbacks)


def test_the_connection_services_address_refuses_a_bad_signature(client, gateway):
    body = service_fixture("message-text.json")

    response = _post(client, "/api/webhooks/whatsapp", body, HTTP_X_WEBHOOK_SIGNATURE=signature_for(body, "wrong"))

    assert response.status_code == 401 and not WebhookEvent.all_objects.exists()


@pytest.mark.parametrize("body", [
    b'{"event": "message", "tenantId": "no-such-session", "data": {}}',
    b'{"event": "message", "data": {}}',
    b"not json",
    b"[" * 100 + b"]" * 100,
])
def test_a_body_that_names_no_session_is_a_404(client, gateway, body):
    response = _post(client, "/api/webhooks/whatsapp", body, HTTP_X_WEBHOOK_SIGNATURE=signature_for(body, SECRET))

    assert response.status_code == 404 and not WebhookEvent.all_objects.exists()


def test_only_connection_service_numbers_are_named_by_a_session(client, acme):
    # An Evolution number whose instance bears the session's name is not the service's.
    factories.ChannelFactory(tenant=acme, kind="whatsapp_evolution", config={"instance": SESSION},
                             credentials=Secrets({"webhook_secret": SECRET}))
    body = service_fixture("message-text.json")

    response = _post(client, "/api/webhooks/whatsapp", body, HTTP_X_WEBHOOK_SIGNATURE=signature_for(body, SECRET))

    assert response.status_code == 404


# --- seed 004: /webhooks/evolution -------------------------------------------------------------


def test_evolutions_unified_webhook_keeps_what_the_channels_url_keeps(client, evolution_channel,
                                                                     django_capture_on_commit_callbacks):
    _same_as_canonical(client, evolution_channel, "/webhooks/evolution",
                       evolution_fixture("webhook-messages-upsert-text.json"), {SECRET_HEADER: WEBHOOK_SECRET},
                       django_capture_on_commit_callbacks)


def test_evolutions_unified_webhook_refuses_unknown_instances_and_bad_secrets(client, evolution_channel, gateway):
    body = evolution_fixture("webhook-messages-upsert-text.json")
    unknown = json.dumps({**json.loads(body), "instance": "no-such-instance"}).encode()
    a_session = json.dumps({**json.loads(body), "instance": SESSION}).encode()  # the gateway's: not Evolution's

    assert _post(client, "/webhooks/evolution", unknown, **{SECRET_HEADER: WEBHOOK_SECRET}).status_code == 404
    assert _post(client, "/webhooks/evolution", a_session, **{SECRET_HEADER: SECRET}).status_code == 404
    wrong = _post(client, "/webhooks/evolution", body, **{SECRET_HEADER: "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.all_objects.exists()


def test_namesake_instances_of_two_tenants_are_told_apart_by_their_secrets(client, acme, globex, evolution_channel,
                                                                          django_capture_on_commit_callbacks):
    # Two tenants with servers of their own may name an instance alike.
    theirs = factories.ChannelFactory(tenant=globex, kind="whatsapp_evolution", config={"instance": INSTANCE},
                                      credentials=Secrets({"webhook_secret": "globex-secret-" + "0" * 30}))

    response = _post(client, "/webhooks/evolution", evolution_fixture("webhook-messages-upsert-text.json"),
                     **{SECRET_HEADER: "globex-secret-" + "0" * 30})

    assert response.status_code == 200
    assert WebhookEvent.all_objects.get().channel_id == theirs.pk



def test_the_aliases_under_api_take_bodies_as_large_as_any_webhook(client, acme, evolution_channel, settings):
    settings.API_MAX_BODY_BYTES, settings.WEBHOOK_MAX_BODY_BYTES = 1_000, 5_000
    url = f"/api/webhooks/whatsapp/{acme.public_id}/{evolution_channel.public_id}"
    body = json.loads(evolution_fixture("webhook-messages-upsert-text.json"))

    larger_than_the_apis = _post(client, url, json.dumps({**body, "padding": "x" * 2_000}).encode(),
                                 **{SECRET_HEADER: WEBHOOK_SECRET})
    too_large = _post(client, url, json.dumps({**body, "padding": "x" * 6_000}).encode(),
                      **{SECRET_HEADER: WEBHOOK_SECRET})

    assert larger_than_the_apis.status_code == 200
    assert too_large.status_code == 413 and WebhookEvent.all_objects.count() == 1
