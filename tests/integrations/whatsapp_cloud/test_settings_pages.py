"""The tenant admins' channel settings pages."""

from __future__ import annotations

import pytest

from accounts.models import Role
from channels_app.models import Channel, MessageTemplate
from tests.factories import PASSWORD
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET

pytestmark = pytest.mark.django_db


def _login(client, membership):
    client.post("/login/", {"email": membership.user.email, "password": PASSWORD})
    return client


def test_admin_connects_whatsapp_and_sees_where_meta_must_send(graph, acme, member, client,
                                                               django_capture_on_commit_callbacks):
    _login(client, member(acme, Role.TENANT_ADMIN))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/channels/new/whatsapp_cloud/", {
            "name": "WhatsApp Vendas", "phone_number_id": "100000000000002", "waba_id": "100000000000001",
            "access_token": "EAAG-test-token", "app_secret": APP_SECRET, "verify_token": "my-verify-token"})

    channel = Channel.all_objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/channels/{channel.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert channel.webhook_url in page and "my-verify-token" in page
    assert "EAAG-test-token" not in page and APP_SECRET not in page
    assert channel.status == Channel.Status.CONNECTED
    assert MessageTemplate.all_objects.filter(channel=channel).exists()  # synced on connect
    assert "hello_world" in page


def test_a_refused_token_is_explained_on_the_form(graph, acme, member, client):
    _login(client, member(acme, Role.TENANT_ADMIN))

    response = client.post("/settings/channels/new/whatsapp_cloud/", {
        "name": "WA", "phone_number_id": "100000000000002", "waba_id": "100000000000001",
        "access_token": "EAAG-typed-but-refused", "app_secret": APP_SECRET})

    assert response.status_code == 400
    assert 'class="form-error"' in response.content.decode()
    assert "EAAG-typed-but-refused" not in response.content.decode()  # a secret is never echoed back
    assert not Channel.all_objects.exists()


def test_agents_cannot_open_the_settings(acme, member, client):
    _login(client, member(acme, Role.AGENT))

    assert client.get("/settings/channels/").status_code == 403
    assert client.get("/settings/channels/new/whatsapp_cloud/").status_code == 403


def test_an_errored_channel_is_announced_to_admins_in_the_inbox(whatsapp, member, client):
    Channel.all_objects.filter(pk=whatsapp.pk).update(status=Channel.Status.ERROR,
                                                      status_detail="The access token is invalid (190)")
    admin_page = _login(client, member(whatsapp.tenant, Role.TENANT_ADMIN)).get("/inbox/").content.decode()

    assert 'class="banner"' in admin_page and "The access token is invalid (190)" in admin_page


def test_other_tenants_channels_are_404(whatsapp, globex, member, client):
    _login(client, member(globex, Role.TENANT_ADMIN))

    assert client.get(f"/settings/channels/{whatsapp.public_id}/").status_code == 404
