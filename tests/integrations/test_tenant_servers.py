"""A tenant's own provider server (an Evolution server, a connection service) is called only at
a public address: one that names this machine, a private network or a cloud's metadata address
is refused when the channel is connected, and nothing is called there."""

from __future__ import annotations

import pytest

from accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind,config,field", [
    ("whatsapp_evolution", {"instance": "loja", "server_url": "http://169.254.169.254/latest"}, "server_url"),
    ("whatsapp_evolution", {"instance": "loja", "server_url": "http://127.0.0.1:8082"}, "server_url"),
    ("whatsapp_gateway", {"service_url": "http://10.0.0.7:3000"}, "service_url"),
])
def test_a_private_server_address_is_refused(acme, member, api, settings, kind, config, field):
    settings.PROVIDER_URL_ALLOW_PRIVATE = False

    answer = api(member(acme, Role.TENANT_ADMIN)).post("/api/v1/channels", {
        "kind": kind, "name": "Own server", "config": config, "credentials": {"api_key": "k"}}, format="json")

    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert "not on the internet" in error["message"] and field in str(error["details"])
