"""Templates: synced from the Graph API, offered when the window is closed, sent with values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from channels_app.models import MessageTemplate
from conversations.models import Message
from integrations.maintenance import channel_templates_sync
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ORDER_TEMPLATE = {
    "name": "pedido_enviado", "language": "pt_BR", "category": "UTILITY", "status": "APPROVED",
    "components": [{"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} foi enviado."}],
}


@pytest.fixture
def closed_conversation(whatsapp):
    contact = factories.ContactFactory(tenant=whatsapp.tenant, phone="+15555550123")
    factories.ContactIdentityFactory(contact=contact, tenant=whatsapp.tenant, channel=whatsapp,
                                     external_id="15555550123")
    return factories.ConversationFactory(tenant=whatsapp.tenant, channel=whatsapp, contact=contact,
                                         last_inbound_at=timezone.now() - timedelta(days=2))


def test_sync_replaces_the_channels_templates_with_metas(graph, whatsapp):
    graph.set_templates("100000000000001", [ORDER_TEMPLATE, {**ORDER_TEMPLATE, "name": "old", "status": "PAUSED"}])
    MessageTemplate.all_objects.create(tenant=whatsapp.tenant, channel=whatsapp, name="gone", language="en")

    count = channel_templates_sync(channel=whatsapp)

    assert count == 2
    template = MessageTemplate.all_objects.get(channel=whatsapp, name="pedido_enviado")
    assert (template.parameter_count, template.category, template.is_usable) == (2, "UTILITY", True)
    assert not MessageTemplate.all_objects.filter(name="gone").exists()


def test_template_goes_out_through_the_api_outside_the_window(graph, whatsapp, closed_conversation, member, api,
                                                              django_capture_on_commit_callbacks):
    graph.set_templates("100000000000001", [ORDER_TEMPLATE])
    channel_templates_sync(channel=whatsapp)
    client = api(member(whatsapp.tenant, Role.AGENT, channels=(whatsapp,)))
    path = f"/api/v1/conversations/{closed_conversation.public_id}/messages"

    free = client.post(path, {"content": "oi"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(path, {"type": "TEMPLATE", "template": {"name": "pedido_enviado", "language": "pt_BR",
                                                                   "parameters": ["Maria", "A-77"]}}, format="json")
    missing = client.post(path, {"type": "TEMPLATE", "template": {"name": "pedido_enviado", "language": "pt_BR",
                                                                  "parameters": ["Maria"]}}, format="json")
    unknown = client.post(path, {"type": "TEMPLATE", "template": {"name": "nope", "language": "pt_BR"}},
                          format="json")

    assert free.status_code == 422
    assert sent.status_code == 201, sent.content
    assert sent.json()["content"] == "Olá Maria, seu pedido A-77 foi enviado."
    assert Message.all_objects.get(public_id=sent.json()["id"]).status == Message.Status.SENT
    body = graph.sent[-1]["body"]
    assert body["type"] == "template" and body["template"]["name"] == "pedido_enviado"
    assert [p["text"] for p in body["template"]["components"][0]["parameters"]] == ["Maria", "A-77"]
    assert missing.status_code == 422 and "parameters" in missing.json()["error"]["details"]
    assert unknown.status_code == 422 and "template" in unknown.json()["error"]["details"]


def test_the_inbox_offers_templates_when_the_window_is_closed(graph, whatsapp, closed_conversation, member, client,
                                                              django_capture_on_commit_callbacks):
    graph.set_templates("100000000000001", [ORDER_TEMPLATE])
    channel_templates_sync(channel=whatsapp)
    agent = member(whatsapp.tenant, Role.AGENT, channels=(whatsapp,))
    client.post("/login/", {"email": agent.user.email, "password": PASSWORD})
    template = MessageTemplate.all_objects.get(name="pedido_enviado")

    page = client.get(f"/inbox/c/{closed_conversation.public_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/inbox/c/{closed_conversation.public_id}/template/",
                           {"template": str(template.public_id), "parameters": ["Maria", "A-77"]})

    assert 'id="template-form"' in page and "pedido_enviado" in page and f'value="{template.public_id}"' in page
    assert sent.status_code == 200 and "seu pedido A-77 foi enviado" in sent.content.decode()
    assert graph.sent[-1]["body"]["type"] == "template"


def test_interactive_buttons_go_out_through_the_api(graph, whatsapp, member, api, django_capture_on_commit_callbacks):
    import json

    from tests.integrations.whatsapp_cloud.conftest import FIXTURES

    contact = factories.ContactFactory(tenant=whatsapp.tenant, phone="+15555550123")
    factories.ContactIdentityFactory(contact=contact, tenant=whatsapp.tenant, channel=whatsapp,
                                     external_id="15555550123")
    conversation = factories.ConversationFactory(tenant=whatsapp.tenant, channel=whatsapp, contact=contact,
                                                 last_inbound_at=timezone.now())
    interactive = json.loads((FIXTURES / "send-interactive-buttons.request.json").read_text())["interactive"]
    client = api(member(whatsapp.tenant, Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/conversations/{conversation.public_id}/messages",
                               {"type": "INTERACTIVE", "content": "Confirma?",
                                "content_attributes": {"interactive": interactive}}, format="json")

    assert response.status_code == 201, response.content
    assert graph.sent[-1]["body"]["interactive"] == interactive


def test_sync_now_on_the_channels_page_syncs_and_says_so(graph, whatsapp, member, client,
                                                        django_capture_on_commit_callbacks):
    graph.set_templates("100000000000001", [ORDER_TEMPLATE])
    admin = member(whatsapp.tenant, Role.TENANT_ADMIN)
    client.post("/login/", {"email": admin.user.email, "password": PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/channels/{whatsapp.public_id}/templates/sync/", follow=True)

    assert response.redirect_chain == [(f"/settings/channels/{whatsapp.public_id}/", 302)]
    assert 'class="flash"' in response.content.decode()
    assert "Modelos sincronizados: 1 modelo." in response.content.decode()  # the tenant speaks pt-BR
    assert MessageTemplate.all_objects.filter(channel=whatsapp, name="pedido_enviado").exists()


def test_sync_now_says_why_it_failed_and_the_channel_shows_the_error(whatsapp, member, client, settings):
    import socket

    from channels_app.models import Channel

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{free.getsockname()[1]}"  # closed when used
    client.post("/login/", {"email": member(whatsapp.tenant, Role.TENANT_ADMIN).user.email, "password": PASSWORD})

    response = client.post(f"/settings/channels/{whatsapp.public_id}/templates/sync/", follow=True)

    page = response.content.decode()
    assert "Os modelos não foram sincronizados: não foi possível contatar o provedor." in page
    assert '<summary>Detalhes</summary><code>WhatsApp could not be reached' in page
    channel = Channel.all_objects.get(pk=whatsapp.pk)
    assert channel.status == Channel.Status.ERROR and "could not be reached" in channel.status_detail


def test_sync_now_on_a_kind_without_templates_says_so(acme, member, client):
    from tests import factories

    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja (API)")
    client.post("/login/", {"email": member(acme, Role.TENANT_ADMIN).user.email, "password": PASSWORD})

    response = client.post(f"/settings/channels/{channel.public_id}/templates/sync/", follow=True)

    assert "Este tipo de canal não tem modelos de mensagem para sincronizar." in response.content.decode()


def test_an_unreachable_provider_is_one_plain_log_line(whatsapp, settings, caplog):
    import logging
    import socket

    from integrations.tasks import channel_templates_queue

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{free.getsockname()[1]}"
    caplog.set_level(logging.INFO)

    channel_templates_queue(channel_id=whatsapp.pk)

    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert warnings[0].getMessage() == (f"channel {whatsapp.pk} (WhatsApp Vendas): templates not synced, will try "
                                        "again next round: WhatsApp could not be reached (connection refused)")
