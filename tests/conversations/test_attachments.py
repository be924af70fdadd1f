"""Attachments are inert: a file's type is what its bytes are, only passive types are shown
inline, and every attachment response forbids sniffing and scripts. Through the real
endpoints (the reply form, the attachment URL, the thread), with Django's test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from conversations.models import Attachment, Message
from conversations.services import message_attach_file
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SANDBOX = "sandbox; default-src 'none'"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(document.domain)</script></svg>")
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
# A real 1x1 PNG and a minimal PDF (their signatures are what counts).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a5e1b1f40000000049454e44ae426082")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"

# (file name, declared type, bytes): what an agent (or a contact's provider) may claim.
ACTIVE_FILES = {
    "svg": ("x.svg", "image/svg+xml", SVG),
    "html": ("x.html", "text/html", HTML),
    "xhtml": ("x.xhtml", "application/xhtml+xml", HTML),
    "html named and declared as a png": ("foto.png", "image/png", HTML),
    "svg named and declared as a pdf": ("nota.pdf", "application/pdf", SVG),
}


def _login(membership: Any) -> Client:
    client = Client()
    response = client.post("/login/", {"email": membership.user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def world(acme, member) -> dict[str, Any]:
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja (API)")
    admin = member(acme, Role.TENANT_ADMIN, full_name="Ada Admin")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, last_inbound_at=timezone.now())
    factories.MessageFactory(conversation=conversation, content="Oi")
    return {"channel": channel, "conversation": conversation, "client": _login(admin)}


def _upload(world: dict[str, Any], name: str, content_type: str, data: bytes, private: str = "0") -> Any:
    response = world["client"].post(f"/inbox/c/{world['conversation'].public_id}/reply/", {
        "content": "", "private": private,
        "attachments": SimpleUploadedFile(name, data, content_type=content_type),
    })
    assert response.status_code == 200, response.content
    return response


def _stored(world: dict[str, Any]) -> Attachment:
    message = Message.all_objects.filter(conversation=world["conversation"]).order_by("id").last()
    return message.attachments.get()


def _served(client: Client, attachment: Attachment) -> Any:
    response = client.get(f"/inbox/attachments/{attachment.public_id}/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == SANDBOX
    return response


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _links_to(html: str, attachment: Attachment) -> list[str]:
    """Every element of the page that points at the attachment's URL."""
    return re.findall(rf'<(?:a|img|audio|video)\b[^>]*"/inbox/attachments/{attachment.public_id}/"[^>]*>', html)


@pytest.mark.parametrize("name,declared,data", ACTIVE_FILES.values(), ids=ACTIVE_FILES.keys())
def test_an_uploaded_active_file_is_kept_as_a_download_and_never_rendered(world, name, declared, data):
    bubble = _upload(world, name, declared, data).content.decode()

    attachment = _stored(world)
    assert attachment.content_type == "application/octet-stream"  # what the bytes are, not what was claimed
    assert attachment.message.type == Message.Type.DOCUMENT
    assert not attachment.file.name.endswith((".svg", ".html", ".xhtml", ".png", ".pdf"))
    assert attachment.file_name == name  # shown and downloaded under the name it came with
    served = _served(world["client"], attachment)
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")
    assert _body(served) == data
    links = _links_to(bubble, attachment)
    assert len(links) == 1 and links[0].startswith("<a ") and " download" in links[0]
    assert "target=" not in links[0]
    page = world["client"].get(f"/inbox/c/{world['conversation'].public_id}/").content.decode()
    assert _links_to(page, attachment) == links


@pytest.mark.parametrize("name,declared,data,detected", [
    ("foto.png", "image/png", PNG, "image/png"),
    ("scan", "application/octet-stream", PNG, "image/png"),  # no name, no type: the bytes say
    ("leia.txt", "text/plain", PNG, "image/png"),  # a lie the other way round
    ("boleto.pdf", "application/pdf", PDF, "application/pdf"),
], ids=["png", "png without a name or type", "png named and declared as text", "pdf"])
def test_raster_images_and_pdfs_are_still_shown_inline(world, name, declared, data, detected):
    _upload(world, name, declared, data)

    attachment = _stored(world)
    served = _served(world["client"], attachment)
    assert attachment.content_type == detected
    assert served["Content-Type"] == detected
    assert served["Content-Disposition"].startswith("inline;")
    assert _body(served) == data


def test_an_image_shows_in_the_thread_and_opens_as_that_image(world):
    bubble = _upload(world, "foto.png", "image/png", PNG).content.decode()

    attachment = _stored(world)
    assert attachment.message.type == Message.Type.IMAGE
    assert any(link.startswith("<img ") for link in _links_to(bubble, attachment))


def test_a_plain_text_file_keeps_its_type_and_is_a_download(world):
    _upload(world, "pedido.txt", "text/plain", "Pedido nº 123 — café\n".encode())

    attachment = _stored(world)
    served = _served(world["client"], attachment)
    assert attachment.content_type == "text/plain"
    assert served["Content-Disposition"].startswith("attachment;")


def test_text_declared_as_plain_but_holding_binary_is_not_plain_text(world):
    _upload(world, "dados.txt", "text/plain", b"\x00\x01\x02\xfe\xff" * 10)

    assert _stored(world).content_type == "application/octet-stream"


def test_a_private_note_is_checked_the_same_way(world):
    _upload(world, "x.svg", "image/svg+xml", SVG, private="1")

    attachment = _stored(world)
    assert attachment.message.private and attachment.content_type == "application/octet-stream"
    assert _served(world["client"], attachment)["Content-Disposition"].startswith("attachment;")


def test_a_file_kept_before_with_an_active_type_is_served_and_linked_as_a_download(world, acme):
    """Rows written before types were detected keep the type that was claimed: serving and
    the thread decide from the bytes and the passive list, not from that claim."""
    message = factories.MessageFactory(conversation=world["conversation"], content="")
    attachment = Attachment.all_objects.create(
        tenant=acme, message=message, file=ContentFile(SVG, name="x.svg"), file_name="x.svg",
        content_type="image/svg+xml", size=len(SVG))
    lying = Attachment.all_objects.create(
        tenant=acme, message=message, file=ContentFile(HTML, name="y.png"), file_name="y.png",
        content_type="image/png", size=len(HTML))

    for item in (attachment, lying):
        served = _served(world["client"], item)
        assert served["Content-Type"] == "application/octet-stream"
        assert served["Content-Disposition"].startswith("attachment;")
    page = world["client"].get(f"/inbox/c/{world['conversation'].public_id}/").content.decode()
    links = _links_to(page, attachment)
    assert len(links) == 1 and links[0].startswith("<a ") and " download" in links[0]
    assert "target=" not in links[0]


def test_a_contacts_media_is_kept_with_the_type_of_its_bytes(world):
    """What a provider says of a contact's file is a claim like any other."""
    message = factories.MessageFactory(conversation=world["conversation"], content="",
                                       content_attributes={"media": {"id": "1"}})

    svg = message_attach_file(message=message, data=SVG, content_type="image/svg+xml", file_name="logo.svg")
    photo = message_attach_file(message=message, data=PNG, content_type="application/octet-stream",
                                file_name="whatsapp-1.bin")

    assert (svg.content_type, photo.content_type) == ("application/octet-stream", "image/png")
    assert not svg.file.name.endswith(".svg")
    assert _served(world["client"], svg)["Content-Disposition"].startswith("attachment;")
    assert _served(world["client"], photo)["Content-Disposition"].startswith("inline;")


def test_the_providers_file_types_are_checked_against_the_detected_type(acme, member):
    """WhatsApp sends no GIF: one named and declared as a PNG is refused as the GIF it is."""
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", name="WhatsApp")
    agent = member(acme, Role.AGENT, channels=(channel,))
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, last_inbound_at=timezone.now())
    client = _login(agent)

    refused = client.post(f"/inbox/c/{conversation.public_id}/reply/", {
        "content": "", "private": "0",
        "attachments": SimpleUploadedFile("foto.png", GIF, content_type="image/png")})

    assert refused.status_code == 400 and "image/gif" in refused.content.decode()
    assert not Attachment.all_objects.filter(message__conversation=conversation).exists()
