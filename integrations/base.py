"""The contract every provider implements, and the normalised shapes it speaks.

Adapters translate and do HTTP with timeouts. They never write to the database or enqueue
tasks: they return these dataclasses, or raise one of the errors below."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from channels_app.models import Channel


class ProviderError(Exception):
    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.retry_after = message, code, retry_after


class ProviderTemporaryError(ProviderError):
    """Try again later (rate limits, 5xx, timeouts)."""


class ProviderPermanentError(ProviderError):
    """This message will never go: fail it and keep the provider's code."""


class ProviderAuthError(ProviderPermanentError):
    """The channel's credentials are refused: the channel needs an admin."""


class WebhookRejected(Exception):
    """A webhook whose origin cannot be proven (bad or missing signature)."""


@dataclass(frozen=True)
class InboundMessage:
    provider_message_id: str
    contact_external_id: str
    contact_name: str = ""
    contact_phone: str = ""
    type: str = "TEXT"
    content: str = ""
    content_attributes: dict[str, Any] = field(default_factory=dict)
    sent_at: dt.datetime | None = None
    reply_to_provider_id: str | None = None
    # The provider-side account the update is for (one app's webhook can carry several numbers).
    account: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_id: str
    status: str  # SENT, DELIVERED, READ, FAILED
    at: dt.datetime | None = None
    error_code: str = ""
    error_message: str = ""
    account: str = ""


@dataclass(frozen=True)
class WebhookBatch:
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


@dataclass(frozen=True)
class OutboundMessage:
    """What an adapter needs to send one message, without the ORM."""

    message_id: int
    to: str
    type: str
    content: str
    content_attributes: Mapping[str, Any]
    reply_to_provider_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class MediaFile:
    data: bytes
    content_type: str
    file_name: str


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    category: str
    status: str
    body: str
    parameter_count: int
    components: list[dict[str, Any]]


class ChannelAdapter(abc.ABC):
    kind: ClassVar[str]
    # Messages per second one channel may send by default (None: no cap of ours); a
    # channel's config "throughput_per_second" overrides it (e.g. after Meta raised it).
    default_throughput_per_second: ClassVar[float | None] = None

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    @property
    def throughput_per_second(self) -> float | None:
        configured = self.channel.config.get("throughput_per_second")
        try:
            return float(configured) if configured else self.default_throughput_per_second
        except (TypeError, ValueError):
            return self.default_throughput_per_second

    # --- inbound ---------------------------------------------------------------
    @property
    def account(self) -> str:
        """This channel's provider-side account (e.g. a WhatsApp phone number id)."""
        return ""

    def verify_handshake(self, query: Mapping[str, str]) -> str | None:
        """The body to answer a provider's subscription check with, or None to refuse it."""
        return None

    @abc.abstractmethod
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise WebhookRejected unless the provider provably sent this body."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes) -> WebhookBatch:
        """Normalise a verified body; raise ValueError when it cannot be read."""

    # --- outbound --------------------------------------------------------------
    @abc.abstractmethod
    def send(self, message: OutboundMessage) -> SendResult:
        """Hand one message to the provider."""

    def mark_read(self, provider_message_id: str) -> None:
        """Tell the provider the agent read up to this message (where it supports it)."""
        return None

    def validate_credentials(self) -> dict[str, Any]:
        """Check the channel's credentials with the provider; raise ProviderError otherwise."""
        return {}

    def fetch_templates(self) -> list[Template]:
        return []

    def fetch_media(self, media: Mapping[str, Any]) -> MediaFile | None:
        """Download a contact's media described by an inbound message's `media` attributes."""
        return None
