"""Media both ways, against the Graph API simulator."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from accounts.models import Role
from conversations.models import Attachment, Message
from integrations.outbound.send import message_deliver_now
from integrations.whatsapp_cloud.simulator import GraphSimulator
from tests import factories
from tests.factories import PASSWORD
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.django_db(transaction=True)
def test_a_contacts_photo_is_fetched_and_kept(live_server, settings, whatsapp):
    webhook_url = f"{live_server.url}/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"
    with GraphSimulator(status_progression=()) as simulator:
        simulator.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET,
                             waba_id="100000000000001", webhook_url=webhook_url)
        settings.WHATSAPP_GRAPH_API_URL = simulator.base_url
        settings.WHATSAPP_GRAPH_API_VERSION = simulator.version

        wamid = simulator.inbound_image("100000000000002", caption="Caixa amassada", content=PNG,
                                        mime_type="image/png")
        assert simulator.wait_for_webhooks(timeout=10)

    message = Message.all_objects.get(provider_message_id=wamid)
    attachment = Attachment.all_objects.get(message=message)
    assert (message.type, message.content) == ("IMAGE", "Caixa amassada")
    assert attachment.content_type == "image/png" and attachment.file.read() == PNG


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("content,mime_type", [(SVG, "image/svg+xml"), (HTML, "image/png")], ids=["svg", "html"])
def test_a_contacts_active_file_is_kept_and_served_as_a_download(live_server, settings, whatsapp, member,
                                                                 content, mime_type):
    """What Meta says a file is, is a claim: an SVG (or HTML sent as a PNG) is kept as the
    unknown bytes it is, and its URL only ever downloads it."""
    webhook_url = f"{live_server.url}/webhooks/whatsapp_cloud/{whatsapp.webhook_token}"
    with GraphSimulator(status_progression=()) as simulator:
        simulator.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET,
                             waba_id="100000000000001", webhook_url=webhook_url)
        settings.WHATSAPP_GRAPH_API_URL = simulator.base_url
        settings.WHATSAPP_GRAPH_API_VERSION = simulator.version

        wamid = simulator.inbound_image("100000000000002", content=content, mime_type=mime_type)
        assert simulator.wait_for_webhooks(timeout=10)

    attachment = Attachment.all_objects.get(message__provider_message_id=wamid)
    assert attachment.content_type == "application/octet-stream" and attachment.file.read() == content
    assert not attachment.file.name.endswith((".svg", ".png", ".svg+xml"))
    client = Client()
    agent = member(whatsapp.tenant, Role.AGENT, channels=(whatsapp,))
    assert client.post("/login/", {"email": agent.user.email, "password": PASSWORD}).status_code == 302
    served = client.get(f"/inbox/attachments/{attachment.public_id}/")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "sandbox; default-src 'none'"


@pytest.mark.django_db
def test_an_agents_image_is_uploaded_then_sent_by_id(graph, whatsapp):
    from django.utils import timezone

    contact = factories.ContactFactory(tenant=whatsapp.tenant, phone="+15555550123")
    factories.ContactIdentityFactory(contact=contact, tenant=whatsapp.tenant, channel=whatsapp,
                                     external_id="15555550123")
    conversation = factories.ConversationFactory(tenant=whatsapp.tenant, channel=whatsapp, contact=contact,
                                                 last_inbound_at=timezone.now())
    message = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                       sender_type=Message.SenderType.AGENT, status=Message.Status.PENDING,
                                       type=Message.Type.IMAGE, content="Segue a foto")
    Attachment.all_objects.create(tenant=whatsapp.tenant, message=message, file=ContentFile(PNG, name="foto.png"),
                                  file_name="foto.png", content_type="image/png", size=len(PNG))

    assert message_deliver_now(message_id=message.pk).status == "sent"

    body = graph.sent[-1]["body"]
    assert body["type"] == "image" and body["image"]["caption"] == "Segue a foto"
    assert graph.media[body["image"]["id"]].content == PNG
