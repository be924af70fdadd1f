"""Pairing a number by QR code in a real browser: an admin opens the channel's settings page,
the QR code appears as an image, the phone scans it (the Evolution simulator posts its
connection webhook to the live server) and the panel says the number is paired, without a
reload; a logout on the phone shows the same way."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from accounts.models import Role
from channels_app.services import channel_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

GLOBAL_KEY = "E2E-GLOBAL-KEY"


@pytest.fixture
def evolution(settings: Any, inbox_server: Any) -> Any:
    from integrations.evolution.simulator import EvolutionSimulator

    simulator = EvolutionSimulator(api_key=GLOBAL_KEY, status_progression=(), webhook_retry_delays=())
    simulator.start()
    settings.EVOLUTION_API_URL, settings.EVOLUTION_API_KEY = simulator.base_url, GLOBAL_KEY
    settings.PUBLIC_BASE_URL = inbox_server.url  # where the simulator posts the channel's webhooks
    yield simulator
    simulator.stop()


@pytest.fixture
def paired_scene(acme: Any, member: Any, evolution: Any) -> dict[str, Any]:
    admin = member(acme, Role.TENANT_ADMIN, full_name="Ana Admin")
    channel = channel_create(tenant=acme, actor=admin.user, kind="whatsapp_evolution", name="Celular da loja",
                             config={"instance": "loja-e2e", "integration": "WHATSAPP-BAILEYS"})
    return {"admin": admin, "channel": channel}


async def test_the_qr_code_shows_and_the_scan_pairs_the_number_live(paired_scene, evolution, open_inbox):
    channel = paired_scene["channel"]
    agent = await open_inbox(paired_scene["admin"], "/inbox/?tab=all")
    page = agent.page
    await page.goto(f"/settings/channels/{channel.public_id}/")
    await page.evaluate("window.__e2eSettings = true")  # gone if the page reloads

    qr = page.locator("#pairing-qr")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src")).startswith("data:image/png;base64,")
    assert await qr.evaluate("(image) => image.complete && image.naturalWidth > 100")  # a real image, decoded

    await database_sync_to_async(evolution.scan)("loja-e2e", "5511987654321")

    await expect(page.locator("#pairing")).to_contain_text("+5511987654321", timeout=5000)
    await expect(page.locator("#channel-status")).to_contain_text("Conectado", timeout=5000)
    assert await page.evaluate("window.__e2eSettings === true"), "the settings page was reloaded"

    await database_sync_to_async(evolution.close)("loja-e2e", 401)  # logged out on the phone

    await expect(page.locator("#pairing-show-qr")).to_be_visible(timeout=5000)
    assert await page.evaluate("window.__e2eSettings === true")
