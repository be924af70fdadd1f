"""The API answers as its own OpenAPI schema says, checked by schemathesis against the live
server (uvicorn serving config.asgi:application, as in production; PostgreSQL and Redis when
DATABASE_URL and REDIS_URL are set), authenticated as an admin and as an agent with JWTs
obtained from the API itself.

Every check runs (`--checks all`): no 5xx, status codes, content types and bodies as
documented, schema-violating input refused (400), schema-valid input accepted (or refused for
what it means, 422, or for the state it finds, 409: see schemathesis.toml), and the rest. The
run is bounded (a fixed seed and a number of cases per operation) so that it takes a minute
or so; a failure prints schemathesis' report with the request that reproduces it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from accounts.models import Role
from integrations.whatsapp_cloud.simulator import GraphSimulator
from tests import factories
from tests.e2e.conftest import InboxServer
from tests.factories import PASSWORD

# Reproducible: the same cases every run (change it to explore further).
SEED = 20_260_513
# Cases per operation and generation phase; with two roles this takes about a minute on two cores.
MAX_EXAMPLES = 20
RUN_SECONDS = 600  # a run that goes past this is stuck, not slow (a loaded 2-core machine takes ~300 s)
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def live_api(transactional_db, settings, acme, member):
    """The live server with a tenant that has channels, a conversation, messages, an admin and
    an agent, and no rate limit in the way of thousands of calls."""
    settings.API_RATE_LIMIT_DEFAULT = settings.API_RATE_LIMIT_MESSAGES = 1_000_000
    settings.API_RATE_LIMIT_AUTH = settings.API_RATE_LIMIT_ANONYMOUS = 1_000_000
    # The run tries passwords (the token endpoint is fuzzed too): no lockout for it either.
    settings.AXES_FAILURE_LIMIT = settings.LOGIN_IP_FAILURE_LIMIT = 1_000_000
    # Webhook endpoints the run registers must be public addresses (no test reaches the internet:
    # here no public name resolves, so they are refused with 422), and a public address literal is
    # given up on quickly: deliveries run inline in the tests, on the request's path.
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    # Channels the run creates are checked with their provider: WhatsApp's is the local simulator.
    graph = GraphSimulator(status_progression=())
    graph.start()
    settings.WHATSAPP_GRAPH_API_URL, settings.WHATSAPP_GRAPH_API_VERSION = graph.base_url, graph.version
    channel = factories.ChannelFactory(tenant=acme, name="WhatsApp Vendas")
    api_channel = factories.ChannelFactory(tenant=acme, kind="api", name="CRM")
    contact = factories.ContactFactory(tenant=acme, name="Maria Silva", email="")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, contact=contact)
    factories.MessageFactory(conversation=conversation, content="pedido atrasado")
    admin = member(acme, Role.TENANT_ADMIN)
    agent = member(acme, Role.AGENT, channels=(channel, api_channel))
    server = InboxServer()
    server.start()
    try:
        yield server, {"admin": admin, "agent": agent}
    finally:
        server.stop()
        graph.stop()


def _access_token(base_url: str, membership) -> str:
    response = requests.post(f"{base_url}/api/v1/auth/token", timeout=10,
                             json={"email": membership.user.email, "password": PASSWORD, "tenant": "acme"})
    assert response.status_code == 200, response.text
    return response.json()["access"]


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_the_api_agrees_with_its_schema(live_api, role, tmp_path):
    server, members = live_api
    token = _access_token(server.url, members[role])
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        executable, "--config-file", str(CONFIG), "run", f"{server.url}/api/v1/schema/?format=json",
        "--checks", "all", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
        "--header", f"Authorization: Bearer {token}", "--request-timeout", "20", "--no-color",
        "--suppress-health-check", "all",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_SECONDS, cwd=tmp_path,
                            env={**os.environ, "SCHEMATHESIS_HOOKS": ""})

    assert result.returncode == 0, f"schemathesis ({role}) found disagreements:\n{result.stdout}\n{result.stderr}"
