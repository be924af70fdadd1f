"""What the account security tests share: a real SMTP server that receives what the inbox
sends, and accounts with two-factor login."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from accounts.two_factor import two_factor_enrolment_confirm, two_factor_enrolment_start
from tests.factories import PASSWORD


@dataclass
class Mailbox:
    """What the SMTP server received, in order."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def link(self, base_url: str, index: int = -1) -> str:
        """The path of the one link to this installation in a received mail's text."""
        body = self.messages[index].get_body(preferencelist=("plain",))
        assert body is not None
        found = re.findall(re.escape(base_url) + r"(/\S+)", body.get_content())
        assert len(found) == 1, found
        return found[0]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    """An SMTP server (aiosmtpd) on a free local port, and Django's SMTP backend pointed at it,
    as EMAIL_URL=smtp://127.0.0.1:<port> would."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Authenticator:
    """The user's authenticator app: the codes it shows (pyotp, from the key of the QR code)."""

    secret: str
    recovery_codes: list[str]

    def code(self, steps_ahead: int = 0) -> str:
        """The code of the current 30-second step, or of a later one (a code is accepted once, so
        a second login in the same step uses the next one, which the server still accepts)."""
        return pyotp.TOTP(self.secret).at(time.time() + 30 * steps_ahead)


def enrol(user: Any) -> Authenticator:
    enrolment = two_factor_enrolment_start(user=user)
    codes = two_factor_enrolment_confirm(user=user, code=pyotp.TOTP(enrolment.secret).now())
    return Authenticator(secret=enrolment.secret, recovery_codes=codes)


def login(email_address: str, password: str = PASSWORD, client: Client | None = None, **extra: Any) -> tuple[Client, Any]:
    """The inbox's login form posted: (the client, the answer)."""
    client = client or Client()
    return client, client.post("/login/", {"email": email_address, "password": password, "next": "/inbox/"}, **extra)


@pytest.fixture(autouse=True)
def _forms_not_rate_limited(settings: Any) -> None:
    """These tests count failures, not requests (the request limit has its own tests)."""
    settings.FORM_RATE_LIMIT = 10_000
    settings.API_RATE_LIMIT_AUTH = 10_000
