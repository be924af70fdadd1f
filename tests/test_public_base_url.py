"""Where providers reach this installation (PUBLIC_BASE_URL): what `make run` serves, what the
demo prints and the channel pages show; the request's own address when it is not set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Role
from tests import factories
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def _admin_client(client, acme, member):
    client.post("/login/", {"email": member(acme, Role.TENANT_ADMIN).user.email, "password": PASSWORD})
    return client


def test_make_run_exports_the_address_it_serves(tmp_path):
    """`make run PORT=8765` (and `make seed`, which it runs first) give the demo the port it serves."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text('#!/bin/sh\necho "$2 PUBLIC_BASE_URL=$PUBLIC_BASE_URL"\n')
    python.chmod(0o755)
    (venv / "bin" / ".installed").touch()  # newer than the requirements: nothing to install
    environment = {key: value for key, value in os.environ.items() if key != "PUBLIC_BASE_URL"}

    seeded = subprocess.run(["make", "-s", "seed", f"VENV={venv}", "PORT=8765"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, check=True).stdout
    chosen = subprocess.run(["make", "-s", "seed", f"VENV={venv}", "PORT=8765"], cwd=ROOT,
                            env={**environment, "PUBLIC_BASE_URL": "https://inbox.example.test"},
                            capture_output=True, text=True, check=True).stdout

    assert "seed_demo PUBLIC_BASE_URL=http://127.0.0.1:8765" in seeded
    assert "seed_demo PUBLIC_BASE_URL=https://inbox.example.test" in chosen


@pytest.mark.django_db
def test_seed_demo_prints_the_public_address(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8765"
    out = __import__("io").StringIO()

    call_command("seed_demo", stdout=out)

    for path in ("/", "/admin/", "/api/docs/"):
        assert f"http://127.0.0.1:8765{path}" in out.getvalue()
    assert ":8000" not in out.getvalue()


@pytest.mark.django_db
def test_the_channel_page_shows_the_callback_url_at_the_address_it_was_opened_at(settings, client, acme, member):
    settings.PUBLIC_BASE_URL = ""  # not set: the address the admin reached
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", config={"phone_number_id": "1"})
    _admin_client(client, acme, member)

    page = client.get(f"/settings/channels/{channel.public_id}/", HTTP_HOST="127.0.0.1:8765").content.decode()

    assert f"http://127.0.0.1:8765/webhooks/whatsapp_cloud/{channel.webhook_token}" in page


@pytest.mark.django_db
def test_a_public_base_url_set_wins_over_the_address_opened(settings, client, acme, member):
    settings.PUBLIC_BASE_URL = "https://inbox.example.test"
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", config={"phone_number_id": "1"})
    _admin_client(client, acme, member)

    page = client.get(f"/settings/channels/{channel.public_id}/", HTTP_HOST="127.0.0.1:8765").content.decode()

    assert f"https://inbox.example.test/webhooks/whatsapp_cloud/{channel.webhook_token}" in page
    assert "127.0.0.1:8765/webhooks" not in page
