"""Pairing an Evolution channel where admins and integrators do it: the channel's settings page
(its phone panel: the QR code as an image, a code for a typed number, disconnect and restart)
and the API (/api/v1/channels/{id}/pairing, /pair, /disconnect, /restart); Celery beat's
backstop; the channel moving to the Cloud API in place; and its instance deleted when archived."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from accounts.models import Role
from channels_app.models import Channel
from channels_app.services import channel_archive
from conversations.models import Conversation
from integrations.tasks import channels_connection_check
from tests import factories
from tests.factories import PASSWORD
from tests.integrations.evolution.conftest import INSTANCE

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN)


@pytest.fixture
def page(admin):
    client = Client()
    assert client.post("/login/", {"email": admin.user.email, "password": PASSWORD}).status_code == 302
    return client


def _png(data_url: str) -> bytes:
    assert data_url.startswith("data:image/png;base64,")
    return base64.b64decode(data_url.split(",", 1)[1])


def test_the_settings_page_shows_the_qr_code_and_pairs_by_a_typed_number(evolution, evolution_channel, page):
    evolution.instances[INSTANCE].state = "close"
    url = f"/settings/channels/{evolution_channel.public_id}/"

    shown = page.post(f"{url}pairing/pair/", follow=True).content.decode()
    evolution_channel.refresh_from_db()
    assert evolution_channel.status == Channel.Status.QR_PENDING
    assert 'id="pairing-qr"' in shown and "Escaneie o QR code com o celular." in shown
    panel = page.get(f"{url}pairing/").content.decode()
    src = panel.split('id="pairing-qr" src="', 1)[1].split('"', 1)[0]
    assert _png(src).startswith(PNG_SIGNATURE)  # drawn by us from Evolution's code

    typed = page.post(f"{url}pairing/pair/", {"phone": "(11) 98765-4321"}, follow=True).content.decode()
    assert 'id="pairing-code"' in typed
    assert evolution.requests[-1]["path"] == f"/instance/connect/{INSTANCE}?number=5511987654321"

    wrong = page.post(f"{url}pairing/pair/", {"phone": "12"}, follow=True).content.decode()
    assert "Digite o número do celular com o DDD" in wrong


def test_disconnect_and_restart_from_the_page(evolution, evolution_channel, page):
    url = f"/settings/channels/{evolution_channel.public_id}/"
    assert "Pareado com" in page.get(url).content.decode()

    page.post(f"{url}pairing/disconnect/")
    evolution_channel.refresh_from_db()
    assert evolution_channel.status == Channel.Status.DISCONNECTED
    assert any(request["path"] == f"/instance/logout/{INSTANCE}" for request in evolution.requests)

    page.post(f"{url}pairing/restart/")
    assert any(request["path"] == f"/instance/restart/{INSTANCE}" for request in evolution.requests)


def test_an_agent_cannot_pair_a_channel(evolution, evolution_channel, acme, member):
    agent = member(acme, Role.AGENT, channels=(evolution_channel,))
    client = Client()
    client.post("/login/", {"email": agent.user.email, "password": PASSWORD})

    answer = client.post(f"/settings/channels/{evolution_channel.public_id}/pairing/pair/")

    assert answer.status_code in (403, 404)
    assert not any(request["path"].startswith("/instance/connect/") for request in evolution.requests)


def test_the_pairing_through_the_api(evolution, evolution_channel, admin, api, acme, member):
    evolution.instances[INSTANCE].state = "close"
    client = api(admin)
    base = f"/api/v1/channels/{evolution_channel.public_id}"

    paired = client.post(f"{base}/pair", {}, format="json")
    read = client.get(f"{base}/pairing")
    with_phone = client.post(f"{base}/pair", {"phone": "+55 11 98765-4321"}, format="json")
    not_a_phone = client.post(f"{base}/pair", {"phone": "abc"}, format="json")

    assert paired.status_code == 200 and paired.json()["status"] == "QR_PENDING"
    assert _png(read.json()["qr_code"]).startswith(PNG_SIGNATURE)
    assert len(with_phone.json()["pairing_code"]) == 8
    assert not_a_phone.status_code == 422 and not_a_phone.json()["error"]["code"] == "invalid_phone"

    evolution.scan(INSTANCE, phone="5511987654321")
    evolution.wait_for_webhooks()  # the scan's connection.update went through the real endpoint?
    disconnected = client.post(f"{base}/disconnect", format="json")
    assert disconnected.status_code == 200 and disconnected.json()["status"] == "DISCONNECTED"

    agent = member(acme, Role.AGENT, channels=(evolution_channel,))
    assert api(agent).post(f"{base}/pair", {}, format="json").status_code == 403
    assert api(agent).get(f"{base}/pairing").status_code == 200
    api_channel = factories.ChannelFactory(tenant=acme, kind="api")
    refused = client.post(f"/api/v1/channels/{api_channel.public_id}/pair", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_paired_by_qr"


def test_beat_reads_each_paired_channels_state(evolution, evolution_channel):
    evolution.instances[INSTANCE].state = "close"  # a "logged out" webhook that never came

    assert channels_connection_check.apply().get() == 1

    evolution_channel.refresh_from_db()
    assert evolution_channel.status == Channel.Status.DISCONNECTED


def test_a_number_moves_to_the_cloud_api_keeping_its_conversations(evolution, evolution_channel, conversation,
                                                                     admin, api, settings):
    settings.CHANNEL_VERIFIER = ""  # the Cloud API's own check is its package's tests' business

    moved = api(admin).post(f"/api/v1/channels/{evolution_channel.public_id}/transport", {
        "kind": "whatsapp_cloud", "config": {"phone_number_id": "100000000000002", "waba_id": "100000000000001"},
        "credentials": {"access_token": "T", "app_secret": "S"}}, format="json")

    assert moved.status_code == 200, moved.content
    channel = Channel.all_objects.get(pk=evolution_channel.pk)
    assert channel.kind == "whatsapp_cloud" and channel.credentials["access_token"] == "T"
    assert "instance_token" not in channel.credentials
    assert Conversation.all_objects.get(pk=conversation.pk).channel_id == channel.pk


def test_an_archived_channel_has_its_instance_deleted(evolution, evolution_channel, admin,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        channel_archive(channel=evolution_channel, actor=admin.user)

    assert any(request["method"] == "DELETE" and request["path"] == f"/instance/delete/{INSTANCE}"
               for request in evolution.requests)


def test_a_sandbox_channel_offers_to_simulate_the_scan(evolution, evolution_channel, page, settings):
    settings.EVOLUTION_SANDBOX_URL = evolution.base_url
    evolution_channel.config = {**evolution_channel.config, "sandbox": True}
    evolution_channel.save(update_fields=["config"])
    evolution.instances[INSTANCE].state = "close"
    url = f"/settings/channels/{evolution_channel.public_id}/"
    shown = page.post(f"{url}pairing/pair/", follow=True).content.decode()
    assert 'id="pairing-sandbox-scan"' in shown

    scanned = page.post(f"{url}pairing/scan/", follow=True).content.decode()

    assert "escaneou o QR code" in scanned
    assert evolution.instances[INSTANCE].state == "open"  # its connection.update follows, as Evolution's does


def test_only_a_sandbox_channel_simulates_a_scan(evolution, evolution_channel, page):
    evolution.instances[INSTANCE].state = "close"
    url = f"/settings/channels/{evolution_channel.public_id}/"
    assert 'id="pairing-sandbox-scan"' not in page.post(f"{url}pairing/pair/", follow=True).content.decode()

    page.post(f"{url}pairing/scan/")

    assert evolution.instances[INSTANCE].state != "open"
