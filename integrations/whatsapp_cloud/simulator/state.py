"""What the simulator holds: its numbers (with their throughput buckets), failure rules, media,
templates and the webhook deliveries it has yet to make."""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .wire import _digits

DEFAULT_STATUS_PROGRESSION = ("sent", "delivered", "read")

MEDIA_URL_LIFETIME = 300  # seconds; Meta's download URLs are short-lived (~5 min)


@dataclass
class SimulatedNumber:
    """A registered business phone number, with its token bucket (`throughput_per_second`, 1 s of burst)."""

    phone_number_id: str
    token: str
    app_secret: str
    waba_id: str
    webhook_url: str | None = None
    display_phone_number: str = "+15555550100"
    verified_name: str = "Inbox Test"
    throughput_per_second: float = 80
    quality_rating: str = "GREEN"
    # Business-initiated conversations a day (Meta's tiers: TIER_250, TIER_1K, TIER_10K, TIER_100K,
    # TIER_UNLIMITED); given only to who asks for the field, as Meta does.
    messaging_limit_tier: str = "TIER_1K"
    _tokens: float = field(default=0.0, repr=False)
    _refilled_at: float = field(default_factory=time.monotonic, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.throughput_per_second or 0)

    @property
    def display_digits(self) -> str:
        return _digits(self.display_phone_number)

    def take(self) -> bool:
        """One send's worth of throughput, if the bucket has it."""
        rate = self.throughput_per_second
        if not rate or rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            tokens = min(float(rate), self._tokens + (now - self._refilled_at) * rate)
            self._refilled_at = now
            if tokens >= 1.0:
                self._tokens = tokens - 1.0
                return True
            self._tokens = tokens
            return False

    def refill(self) -> None:
        with self._lock:
            self._tokens = float(self.throughput_per_second or 0)
            self._refilled_at = time.monotonic()

    def info(self) -> dict[str, Any]:
        level = "HIGH" if self.throughput_per_second >= 1000 else "STANDARD"
        return {
            "verified_name": self.verified_name,
            "code_verification_status": "VERIFIED",
            "display_phone_number": self.display_phone_number,
            "quality_rating": self.quality_rating,
            "platform_type": "CLOUD_API",
            "throughput": {"level": level},
            "id": self.phone_number_id,
        }

    def public(self) -> dict[str, Any]:
        return {"phone_number_id": self.phone_number_id, "waba_id": self.waba_id, "webhook_url": self.webhook_url,
                "display_phone_number": self.display_phone_number, "verified_name": self.verified_name,
                "throughput_per_second": self.throughput_per_second, "token": _mask(self.token),
                "app_secret": _mask(self.app_secret)}


def _mask(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) > 8 else "…"


@dataclass
class FailureRule:
    """What the next matching sends get instead of a plain acceptance.

    `code`: Meta's error envelope for that code (HTTP status as Meta's); `http_status` alone: Graph's
    own transient 5xx; `hang_seconds`: the request stalls first (then fails as told, or is accepted:
    a client that timed out does not know its message went); `async_failure`: accepted with 200, then
    a `failed` status webhook carrying `code`. `count=None` lasts until cleared."""

    id: int
    count: int | None = 1
    code: int | None = None
    http_status: int | None = None
    hang_seconds: float | None = None
    async_failure: bool = False
    recipient: str | None = None
    phone_number_id: str | None = None
    subcode: int | None = None
    details: str | None = None

    def matches(self, phone_number_id: str, wa_id: str) -> bool:
        return (self.phone_number_id in (None, phone_number_id)) and (self.recipient in (None, wa_id))

    def public(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None and value is not False}


@dataclass
class _Media:
    media_id: str
    content: bytes
    mime_type: str
    phone_number_id: str

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def sha256_b64(self) -> str:
        return base64.b64encode(hashlib.sha256(self.content).digest()).decode()


@dataclass
class _Delivery:
    url: str
    app_secret: str
    body: bytes
    kind: str
    ids: tuple[str, ...]
    phone_number_id: str
    generation: int
    on_finish: Callable[[], None] | None = None
    attempt: int = 0


def _tiny_png() -> bytes:
    """A valid 1x1 PNG: inbound media with no bytes given still downloads as a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x1f\x8a\xe5"))
            + chunk(b"IEND", b""))


DEFAULT_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "name": "hello_world", "parameter_format": "POSITIONAL", "language": "en_US", "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to "
                                     "send a WhatsApp message notification from the Cloud API."},
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ],
    },
    {
        "name": "order_update", "parameter_format": "POSITIONAL", "language": "en_US", "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "IMAGE",
             "example": {"header_handle": ["https://cdn.example.test/images/header.jpg"]}},
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} of {{3}} ships on {{4}}.",
             "example": {"body_text": [["Maria", "ORDER-0001", "$10.99", "June 15, 2025"]]}},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Track order"},
                {"type": "URL", "text": "See order", "url": "https://example.test/orders/{{1}}",
                 "example": ["https://example.test/orders/ORDER-0001"]},
            ]},
        ],
    },
    {
        "name": "order_update_named", "parameter_format": "NAMED", "language": "en_US", "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Hi {{customer_name}}, your order {{order_id}} is on its way.",
             "example": {"body_text_named_params": [{"param_name": "customer_name", "example": "Maria"},
                                                    {"param_name": "order_id", "example": "ORDER-0001"}]}},
        ],
    },
    {
        "name": "retomar_atendimento", "parameter_format": "POSITIONAL", "language": "pt_BR", "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Olá {{1}}! Podemos continuar o seu atendimento por aqui?",
             "example": {"body_text": [["Maria"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Sim, continuar"}]},
        ],
    },
)
