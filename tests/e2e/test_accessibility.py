"""axe-core (vendored: tests/e2e/vendor/) over the pages agents use most, the login, the inbox,
a thread, the channel settings, the contacts pages and the teams, labels and canned responses pages, in
pt-BR and English, light and dark: no serious or critical
violation (contrast AA, names of controls, keyboard reachability, landmarks...)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import Browser, Page

from accounts.api_keys import api_key_create
from contacts.imports import import_job_create, import_job_map, import_job_run
from conversations.services import canned_response_create, team_create
from tests.e2e.conftest import InboxServer
from tests.e2e.scene import DemoInbox, demo_inbox_create, log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING = {"serious", "critical"}
SETTLE_MS = 400


@pytest.fixture
def demo(member: Any) -> DemoInbox:
    return demo_inbox_create(member=member)


def _contact_imports(demo: DemoInbox) -> tuple[Any, Any]:
    """An import waiting for its columns, and one done with a rejected row (Carla's contact
    comes along: a lazy relation cannot be read in the event loop)."""
    demo.conversations["Carla Castro"].contact.public_id  # noqa: B018
    content = "Nome;Celular;Cidade\nJoão;11987654321;Recife\nSem telefone;;Natal\n".encode()
    waiting = import_job_create(tenant=demo.tenant, actor=demo.admin.user, upload=io.BytesIO(content),
                                file_name="contatos.csv")
    done = import_job_create(tenant=demo.tenant, actor=demo.admin.user, upload=io.BytesIO(content),
                             file_name="clientes.csv")
    import_job_map(job=done, actor=demo.admin.user, mapping=done.mapping)
    return waiting, import_job_run(job_pk=done.pk)


async def _violations(page: Page) -> list[str]:
    found = await page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " — " + n.failureSummary.split("\\n").slice(1, 3).join(" ")) }));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in found if v["impact"] in BLOCKING]


def _organisation(demo: DemoInbox) -> tuple[Any, Any]:
    """A team working the WhatsApp channel and a canned response: the settings pages with rows."""
    team = team_create(tenant=demo.tenant, actor=None, name="Vendas", members=[demo.admin.user],
                       channels=[demo.channels["whatsapp"]])
    canned = canned_response_create(tenant=demo.tenant, actor=None, short_code="ola",
                                    content="Olá! Como posso ajudar?")
    return team, canned


def _alerts(demo: DemoInbox) -> Any:
    """The default alert rules, one firing (a disconnected channel), and its notice to the admin."""
    from integrations.models import AlertRule
    from integrations.monitoring.alerts import alerts_evaluate

    channel = demo.channels["whatsapp"]
    type(channel).all_objects.filter(pk=channel.pk).update(status="DISCONNECTED", status_changed_at=None)
    alerts_evaluate(tenant_ids=[demo.tenant.pk])
    type(channel).all_objects.filter(pk=channel.pk).update(status="CONNECTED")
    return AlertRule.all_objects.filter(tenant=demo.tenant).first()


def _webhook(demo: DemoInbox) -> Any:
    """An endpoint with a delivery in its log (not sent: the page shows it pending)."""
    from webhooks.services import webhook_endpoint_register, webhook_test_send

    endpoint, _ = webhook_endpoint_register(tenant=demo.tenant, actor=None, url="https://hooks.example.com/in",
                                            events=["message.received", "conversation.created"])
    webhook_test_send(endpoint=endpoint)
    return endpoint


@pytest.mark.parametrize("language", ["pt-br", "en"])
async def test_pages_have_no_serious_accessibility_violation(browser: Browser, inbox_server: InboxServer,
                                                             demo: DemoInbox, language: str) -> None:
    await database_sync_to_async(demo.set_language)(language)
    context = await browser.new_context(base_url=inbox_server.url, viewport={"width": 1280, "height": 800},
                                        locale="en-US" if language == "en" else "pt-BR")
    await context.add_cookies([{"name": "django_language", "value": language, "url": inbox_server.url}])
    await context.add_init_script(path=str(AXE))  # not subject to the page's policy
    page = await context.new_page()
    waiting, done = await database_sync_to_async(_contact_imports)(demo)
    carla = demo.conversations["Carla Castro"]
    team, canned = await database_sync_to_async(_organisation)(demo)
    await database_sync_to_async(api_key_create)(tenant=demo.tenant, actor=demo.admin.user, name="CRM",
                                                 scope="read_write", expires_in_days=90)
    endpoint = await database_sync_to_async(_webhook)(demo)
    rule = await database_sync_to_async(_alerts)(demo)
    contact, other = await database_sync_to_async(
        lambda: [conversation.contact.public_id for conversation in demo.conversations.values()][:2])()
    pages = {
        "login": "/login/",
        "inbox": "/inbox/?tab=all",
        "thread": f"/inbox/c/{carla.public_id}/?tab=all",
        "settings": "/settings/channels/",
        "channel": f"/settings/channels/{demo.channels['whatsapp'].public_id}/",
        "teams": "/settings/teams/",
        "team": f"/settings/teams/{team.public_id}/",
        "labels": "/settings/labels/",
        "canned responses": "/settings/canned-responses/",
        "canned response": f"/settings/canned-responses/{canned.public_id}/",
        "members": "/settings/members/",
        "member": f"/settings/members/{demo.admin.user.public_id}/",
        "api keys": "/settings/api-keys/",
        "security": "/settings/security/",
        "contacts": "/contacts/",
        "contact": f"/contacts/{carla.contact.public_id}/",
        "contact import": "/contacts/import/",
        "contact import columns": f"/contacts/import/{waiting.public_id}/",
        "contact import progress": f"/contacts/import/{done.public_id}/",
        "contact exports": "/contacts/exports/",
        "privacy": "/settings/privacy/",
        "webhooks": "/settings/webhooks/",
        "webhook": f"/settings/webhooks/{endpoint.public_id}/",
        "alerts": "/settings/alerts/",
        "alert rule": f"/settings/alerts/{rule.public_id}/",
        "notifications": "/notifications/",
        "integrations health": "/settings/health/",
        "reports": "/reports/",
        "merge search": f"/contacts/{contact}/merge/?q=a",
        "merge confirmation": f"/contacts/{contact}/merge/?other={other}",
        "contact lgpd": f"/contacts/{contact}/lgpd/",
        "anonymise": f"/contacts/{contact}/lgpd/anonymise/",
    }
    problems: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        await page.goto(pages["login"])
        await page.wait_for_timeout(SETTLE_MS)
        problems[f"login {scheme}"] = await _violations(page)
    await log_in(page, demo.admin.user.email, pages["inbox"])
    for name, path in pages.items():
        if name == "login":
            continue
        await page.goto(path)
        if name in ("inbox", "thread"):
            await page.locator("#connection[data-state=online]").wait_for()
        for scheme in ("light", "dark"):
            await page.emulate_media(color_scheme=scheme)
            await page.wait_for_timeout(SETTLE_MS)  # the controls' colour transitions end
            problems[f"{name} {scheme}"] = await _violations(page)
    await context.close()

    found = {where: found for where, found in problems.items() if found}
    assert found == {}, "\n".join(f"{where}:\n  " + "\n  ".join(items) for where, items in found.items())
