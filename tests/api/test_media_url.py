"""A reply with `media_url`: the file is fetched and sent with it, from public addresses only,
without following redirects, up to the attachment limit; anything else is a 422 that says why."""

from __future__ import annotations

import base64
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.models import Role
from conversations.models import Message
from tests import factories

pytestmark = pytest.mark.django_db

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = PNG if self.path.endswith(".png") else b"x" * 4096
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def files():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def reply(acme, member, api):
    channel = factories.ChannelFactory(tenant=acme, kind="api")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    client = api(member(acme, Role.TENANT_ADMIN))

    def post(body):
        return client.post(f"/api/v1/conversations/{conversation.public_id}/messages", body, format="json")
    return post


def _refusal(answer) -> str:
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert error["code"] == "media_url_refused"
    return error["details"]["media_url"][0]


def test_a_file_at_a_url_goes_out_with_the_reply(reply, files, settings):
    settings.MEDIA_URL_ALLOW_PRIVATE = True  # the test's own server is on this machine

    answer = reply({"content": "Segue o comprovante", "media_url": f"{files}/comprovante.png"})

    assert answer.status_code == 201, answer.content
    message = Message.all_objects.get(public_id=answer.json()["id"])
    (attachment,) = message.attachments.all()
    assert (message.type, message.content) == (Message.Type.IMAGE, "Segue o comprovante")
    assert attachment.content_type == "image/png" and attachment.file.read() == PNG


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x.png", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/x.png",
    "http://[::1]/x.png", "http://[::ffff:127.0.0.1]/x.png", "http://100.64.0.1/x.png",
])
def test_private_and_reserved_addresses_are_never_fetched(reply, url):
    assert "private or reserved address" in _refusal(reply({"content": "", "media_url": url}))


def test_a_name_that_resolves_to_any_private_address_is_refused(reply, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "files.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    assert "private or reserved address" in _refusal(reply({"content": "", "media_url": "http://files.example.com/a.png"}))


def test_redirects_are_not_followed_and_big_files_are_refused(reply, files, settings):
    settings.MEDIA_URL_ALLOW_PRIVATE = True
    settings.ATTACHMENT_MAX_BYTES = 1024

    assert "redirects" in _refusal(reply({"content": "", "media_url": f"{files}/moved.png"}))
    assert "larger than" in _refusal(reply({"content": "", "media_url": f"{files}/big.bin"}))
    assert "http or https" in _refusal(reply({"content": "", "media_url": "file:///etc/passwd"}))
    assert "http or https" in _refusal(reply({"content": "", "media_url": "http://user:pw@example.com/a.png"}))
    assert Message.all_objects.filter(direction=Message.Direction.OUTBOUND).count() == 0
