"""The contract every provider implements: the only door between the product and a provider.

A provider is one package, `integrations/<provider>/`, and one line in the registry
(integrations.registry.PROVIDERS). Nothing outside its package knows its wire format, header
names, form fields, settings or demo data. Its adapter, a subclass of `ChannelAdapter`, says:

- **who it is**: `kind` (stored on each channel), `label`, `badge`;
- **what it can do**: `capabilities` (a reply window, templates, text length, media types and
  sizes, reactions, read receipts, whether it is connected from the start, whether it says who a
  contact is when asked, whether it lists the messages it kept, whether it lists a number's
  groups), and
  `default_throughput_per_second`;
- **its settings**: `settings`, each a `ProviderSetting` read from the environment by the
  package (and overridable by a Django setting of the same name, e.g. in tests);
- **inbound**: `verify_handshake` (a provider's subscription check), `verify_webhook` (which
  header or scheme proves the provider sent a body: raise `WebhookRejected`, return the proof
  kept with the stored body), `parse_webhook` (the body as typed `IncomingMessage` and
  `IncomingStatus`, the messages deleted for everyone (`IncomingDeletion`), contacts typing or
  recording (`IncomingPresence`: told live, never stored), by provider account, for a provider
  paired by QR code its
  `ConnectionUpdate`: the state of its link to the phone and the QR code to show, and what it
  says of contacts and groups, `ContactUpdate`: their names, a group's subject, their pictures),
  `account`, `fetch_media`, `fetch_contact` (who a contact or group is, asked when one writes
  first without a name: a group's first message), `messages_since` (what the provider kept since
  a moment: fetched when a channel paired by QR code is connected again, through the same
  receive path, so that nothing that came meanwhile is lost), `groups_now` (the groups a number
  is in, as its provider knows them now: refreshed by Celery beat where the provider does not
  post a renamed group). An `IncomingMessage` may be one the channel's own account sent from elsewhere
  (`from_me`: the paired phone) and may name the contact's other addresses on the channel
  (`contact_aliases`: an @lid next to a phone number, a number with and without Brazil's ninth
  digit), so that one person is one contact; a group is a contact of its own (its address and
  name), each message naming its author in `content_attributes["author"]`
  (`{"name", "phone"}`); and, for a provider that posts many channels' events to one address,
  `webhook_channels_named` (which channels a body names, before it is verified);
- **outbound**: `send` (one `OutboundMessage` → `SendResult`, or a `ProviderError`),
  `mark_read`, `fetch_templates`;
- **connecting**: `pairs_by_qr_code` (whether this channel, not only its kind, shows a QR code to
  scan), `form_class` (the settings form an admin fills in: its fields and how they
  become the channel's name, config and credentials), `credentials_form_class` (replacing a
  secret later), `connect` (check with the provider before the channel is saved, raising
  `ConnectRefused` with words an admin understands), `setup_steps` (what the admin pastes into
  the provider's console), `connects_without_settings` (whether the installation provides the
  provider's server, so that a name is all a channel needs);
- **its own API endpoints**, if it has any: `api_urls` (a module of urlpatterns mounted under
  /api/v1/, e.g. the API channel's `POST /api/v1/channels/{channel_id}/messages`);
- **trying it**: `simulator` (a local stand-in of the provider: a module with
  `add_arguments(parser)` and `run(options, write)`, run by `manage.py simulator <kind>`), and
  `demo_channels` (the channels the demo data creates on this kind).

Adding a provider, step by step:

1. `integrations/<provider>/adapter.py`: a `ChannelAdapter` subclass (the rest of the package
   is the provider's own business: its forms, simulator, wire-format helpers);
2. one line in `integrations.registry.PROVIDERS`;
3. tests that feed the provider's real wire format (tests/fixtures/<provider>/) to the real
   webhook endpoint and send through its simulator. The contract test and the import
   contracts (make test) then check the rest: nothing outside the package names the
   provider's wire format, headers or settings.

A kind no provider serves cannot be created (422 channel_kind_not_available), and a reply on
an existing channel of such a kind fails at once, saying why.

Adapters translate and do HTTP with timeouts. They never write to the database or queue tasks:
they return these dataclasses, or raise one of the errors below. The pipeline
(integrations.inbound, integrations.outbound) does the rest. tests/integrations/test_contract.py
checks that every registered kind implements all of it.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import environ
from django import forms
from django.conf import settings as django_settings
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from channels_app.kinds import ChannelKind
from channels_app.models import Channel
from config.json_limits import raw_json_too_deep
from config.net import url_host_is_public
from contacts.incoming import ContactUpdate
from conversations.incoming import IncomingDeletion, IncomingMessage, IncomingPresence, IncomingStatus
from conversations.services.statuses import PROVIDER_UNREACHABLE

__all__ = ["ContactUpdate", "IncomingDeletion", "IncomingMessage", "IncomingPresence", "IncomingStatus"]  # the contract's shapes the core defines

_env = environ.Env()


class ProviderError(Exception):
    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.retry_after = message, code, retry_after


class ProviderTemporaryError(ProviderError):
    """Not now, certainly not delivered (rate limits, 5xx answers, a refused connection): try
    again later."""


class ProviderUnreachableError(ProviderTemporaryError):
    """The provider could not be reached at all (a refused connection, a name that does not
    resolve): nothing went out. Besides the retry, the channel shows it is in error until a send
    gets through."""

    def __init__(self, message: str, *, code: str = PROVIDER_UNREACHABLE, retry_after: float | None = None) -> None:
        super().__init__(message, code=code, retry_after=retry_after)


class ProviderPermanentError(ProviderError):
    """This message will never go: fail it and keep the provider's code."""


class ProviderAuthError(ProviderPermanentError):
    """The channel's credentials are refused: the channel needs an admin."""


class ProviderOutcomeUnknown(ProviderError):
    """The request went out and no answer came back (a read timeout): the provider may have
    taken it. Never sent again on its own, so that a contact never gets it twice."""


class WebhookRejected(Exception):
    """A webhook whose origin cannot be proven (bad or missing signature)."""


class ConnectRefused(Exception):
    """The provider refused what an admin typed to connect a channel. `message` is for the
    admin, in their language; `fields` names the form fields at fault."""

    def __init__(self, message: str, *, code: str = "provider_rejected", fields: tuple[str, ...] = (),
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.fields = message, code, fields
        self.details = details if details is not None else {field: [message] for field in fields}


@dataclass(frozen=True)
class Capabilities:
    # Free-form replies only this long after the contact's last message (then templates).
    reply_window: dt.timedelta | None = None
    templates: bool = False
    reactions: bool = False
    read_receipts: bool = False  # the provider can be told the agent read a message
    max_text_length: int | None = None
    media_types: frozenset[str] = frozenset()  # MIME types it sends ("image/*" for a family)
    max_media_bytes: int | None = None
    connected_on_create: bool = False  # needs nothing from a provider to work
    qr_pairing: bool = False  # paired with a phone by a QR code (the adapter's pairing operations)
    # The provider can say who a contact or group is when asked (fetch_contact): a contact that
    # writes first without a name (a group's first message) is looked up.
    contact_details: bool = False
    # The provider keeps the messages it saw and lists them since a moment (messages_since): what
    # came while the channel was disconnected is fetched when it is connected again.
    missed_messages: bool = False
    # The provider lists the groups the number is in (groups_now) but does not post their changes
    # reliably: the groups' names and pictures are refreshed now and then (a renamed group).
    groups_listed: bool = False


@dataclass(frozen=True)
class ProviderSetting:
    """One setting of a provider: read from the environment variable `name` when the package
    is imported, overridable by a Django setting of the same name (tests, settings files)."""

    name: str
    default: str
    help: str = ""
    environment: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", _env.str(self.name, default=self.default))

    @property
    def value(self) -> str:
        return str(getattr(django_settings, self.name, self.environment))


@dataclass(frozen=True)
class ConnectionUpdate:
    """What a provider paired by QR code says of its link to the phone: the channel's state and,
    while it waits for a scan, what to show the admin (the pipeline keeps it on the channel and
    tells the settings page live)."""

    status: str  # a Channel.Status value (QR_PENDING, CONNECTING, CONNECTED, DISCONNECTED, ERROR)
    detail: str = ""  # why, for the admin (e.g. "logged out on the phone")
    qr_code: str = ""  # the QR code's text, drawn as an image by us
    qr_image: str = ""  # or the provider's own image of it, as a data: URL
    pairing_code: str = ""  # the code typed on the phone instead of a scan
    phone: str = ""  # the number now paired, when the provider says it


@dataclass(frozen=True)
class AccountUpdates:
    """What a webhook says about one provider-side account (e.g. one phone number of an app)."""

    account: str  # "" : the channel's own
    messages: tuple[IncomingMessage, ...] = ()
    statuses: tuple[IncomingStatus, ...] = ()
    connection: ConnectionUpdate | None = None
    # Who contacts and groups are now (names, a group's subject, pictures): recorded on the
    # contacts the channel knows, after the messages of the same batch.
    contacts: tuple[ContactUpdate, ...] = ()
    # Messages their senders deleted for everyone (shown deleted; their content kept for admins).
    deletions: tuple[IncomingDeletion, ...] = ()
    # Contacts typing or recording now: told to the open thread live, never stored.
    presence: tuple[IncomingPresence, ...] = ()


@dataclass(frozen=True)
class WebhookBatch:
    updates: tuple[AccountUpdates, ...] = ()
    errors: tuple[str, ...] = ()  # what the provider reported as errors, to keep with the event


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
    # Our own id of the message, for providers that echo one back in their statuses (so that an
    # interrupted send is still recognised when the provider confirms it).
    reference: str = ""


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


@dataclass(frozen=True)
class ChannelSettings:
    """What a settings form makes of what an admin typed."""

    name: str
    config: dict[str, Any]
    credentials: dict[str, Any]


@dataclass(frozen=True)
class SetupStep:
    """One thing an admin copies into the provider's console (or reads about the channel)."""

    label: str
    value: str
    secret: bool = False  # shown on request only
    copy: bool = False  # a value to copy as it is (a URL, a token), shown as code


@dataclass(frozen=True)
class DemoChannel:
    """A channel the demo data creates on a kind: `role` says what the demo uses it for
    ("sales", "support", "integration"...); `address_format` makes a demo contact's address on
    it from {digits} (of their phone), {email} and {index} (their number in the demo)."""

    role: str
    name: str
    config: dict[str, Any]
    credentials: dict[str, Any]
    read_receipts: bool = False
    address_format: str = "{digits}"
    # How the provider refuses a free reply after the reply window closed (code, reason): the
    # demo shows one such failure.
    reply_window_error: tuple[str, str] | None = None

    def address(self, *, digits: str, email: str, index: int) -> str:
        return self.address_format.format(digits=digits, email=email, index=index)


# A webhook body read before it is verified (to name its channel) is refused past this depth,
# as processing refuses it (integrations.inbound.process).
UNVERIFIED_BODY_MAX_DEPTH = 64


def webhook_envelope_string(body: bytes, name: str) -> str:
    """A top-level string of a JSON webhook body that is not verified yet: "" when the body is
    no JSON object (or nests too deep to read) or has no such string."""
    if raw_json_too_deep(body, limit=UNVERIFIED_BODY_MAX_DEPTH):
        return ""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    value = payload.get(name) if isinstance(payload, dict) else None
    return value.strip() if isinstance(value, str) else ""


def tenant_server_refused(url: str) -> ConnectRefused | None:
    """A provider's server whose address a tenant typed (their own server): the refusal when it
    names a private, loopback, link-local or reserved address (our server would call into its
    own network for them), unless PROVIDER_URL_ALLOW_PRIVATE (development, tests); else None.
    Checked when the channel is connected (the address is resolved then)."""
    if not url or django_settings.PROVIDER_URL_ALLOW_PRIVATE or url_host_is_public(url):
        return None
    return ConnectRefused(_("This server's address is not on the internet (it names a private or reserved address, "
                            "or cannot be found): give its public address."), code="validation_error")


def _not_paired_by_qr() -> ProviderPermanentError:
    """What a pairing operation answers on a kind that is not paired by QR code (the core asks
    only channels that are: integrations.pairing)."""
    return ProviderPermanentError("This channel is not paired with a phone by QR code.", code="not_paired_by_qr")


class ChannelSettingsForm(forms.Form):
    """The form an admin fills in to connect a channel of a kind."""

    # A sentence shown above the form: where to find what it asks for (a lazy translation).
    help_text: ClassVar[str | Promise] = ""

    def channel_settings(self) -> ChannelSettings:
        """The channel's name, config and credentials from the cleaned data (each kind's form says)."""
        raise NotImplementedError


class ChannelAdapter(abc.ABC):
    kind: ClassVar[str]
    label: ClassVar[Any]
    badge: ClassVar[str] = "•"
    # Kinds of one network reach the same addresses (one phone number through different
    # providers): a channel moves between them in place, keeping its contacts and history.
    network: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    settings: ClassVar[tuple[ProviderSetting, ...]] = ()
    # Messages per second one channel may send by default (None: no cap of ours); a
    # channel's config "throughput_per_second" overrides it.
    default_throughput_per_second: ClassVar[float | None] = None
    # Seconds between two sends of one channel, drawn at random between these bounds (None: no
    # pacing of ours): a number paired by QR code that sends like a machine gets banned. A
    # channel's config "send_pacing_seconds" ([low, high]) overrides it, and its
    # "daily_send_cap" bounds what it sends a day.
    default_send_pacing_seconds: ClassVar[tuple[float, float] | None] = None
    form_class: ClassVar[type[ChannelSettingsForm] | None] = None
    credentials_form_class: ClassVar[type[forms.Form] | None] = None
    # The module of the provider's local simulator (see the module docstring), or None.
    simulator: ClassVar[str | None] = None
    # A module whose `urlpatterns` the provider adds under /api/v1/ (its own endpoints), or None.
    api_urls: ClassVar[str | None] = None
    # Templates list adapter classes (the settings page's "Connect ..." buttons): they read
    # `adapter.kind`, they must not call the class.
    do_not_call_in_templates: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    @classmethod
    def channel_kind(cls) -> ChannelKind:
        """What the core is told about this kind."""
        return ChannelKind(
            value=cls.kind, label=cls.label, badge=cls.badge, reply_window=cls.capabilities.reply_window,
            templates=cls.capabilities.templates, reactions=cls.capabilities.reactions,
            connected_on_create=cls.capabilities.connected_on_create,
            max_text_length=cls.capabilities.max_text_length, max_media_bytes=cls.capabilities.max_media_bytes,
            media_types=cls.capabilities.media_types, network=cls.network,
        )

    @property
    def throughput_per_second(self) -> float | None:
        configured = self.channel.config.get("throughput_per_second")
        try:
            return float(configured) if configured else self.default_throughput_per_second
        except (TypeError, ValueError):
            return self.default_throughput_per_second

    @property
    def send_pacing_seconds(self) -> tuple[float, float] | None:
        """The channel's pacing: its config's [low, high] ([0, 0]: none), else its kind's."""
        configured = self.channel.config.get("send_pacing_seconds")
        try:
            low, high = (float(bound) for bound in configured)
        except (TypeError, ValueError):
            return self.default_send_pacing_seconds
        if not 0 <= low <= high:
            return self.default_send_pacing_seconds
        return (low, high) if high > 0 else None

    @property
    def business_initiated_limit(self) -> int | None:
        """The provider's own limit of conversations the business may start a day (WhatsApp's
        messaging tier), as far as the channel knows it; None: none, or not known."""
        return None

    @property
    def daily_send_cap(self) -> int | None:
        configured = self.channel.config.get("daily_send_cap")
        try:
            return int(configured) if configured else None
        except (TypeError, ValueError):
            return None

    # --- inbound ---------------------------------------------------------------
    @property
    def account(self) -> str:
        """This channel's provider-side account (e.g. the id of a phone number)."""
        return ""

    def verify_handshake(self, query: Mapping[str, str]) -> str | None:
        """The body to answer a provider's subscription check with, or None to refuse it."""
        return None

    @abc.abstractmethod
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        """Raise WebhookRejected unless the provider provably sent this body; return the proof
        that was checked (e.g. the signature), kept with the stored body."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes) -> WebhookBatch:
        """Normalise a verified body; raise ValueError when it cannot be read."""

    def fetch_media(self, media: Mapping[str, Any]) -> MediaFile | None:
        """Download a contact's media described by an inbound message's `media` attributes."""
        return None

    def messages_since(self, since: dt.datetime, *, until: dt.datetime | None = None,
                       limit: int = 2000) -> WebhookBatch:
        """The messages the provider kept (received, and sent from the paired phone) from `since`
        to `until` (now when None), at most `limit` of them, the newest (capabilities.missed_messages):
        what came while the channel was disconnected, whose webhooks may never have come. Say in
        `errors` when there were more. Raise ProviderTemporaryError when it cannot answer now."""
        return WebhookBatch()

    def fetch_contact(self, external_id: str) -> ContactUpdate | None:
        """Who the contact (or group) at this address is, asked of the provider now
        (capabilities.contact_details); None when it does not say."""
        return None

    def groups_now(self) -> list[ContactUpdate]:
        """The groups the number is in, as the provider knows them now (capabilities.groups_listed).
        Raise ProviderTemporaryError when it cannot answer now."""
        return []

    # --- outbound --------------------------------------------------------------
    @abc.abstractmethod
    def send(self, message: OutboundMessage) -> SendResult:
        """Hand one message to the provider."""

    def mark_read(self, provider_message_id: str) -> None:
        """Tell the provider the agent read up to this message (where it supports it)."""
        return None

    def fetch_templates(self) -> list[Template]:
        return []

    # --- connecting ------------------------------------------------------------
    def connect(self) -> None:
        """Check the channel's settings with the provider before they are saved; may complete
        the channel's config and credentials and set its status. Raise ConnectRefused when the
        provider refuses them, ProviderTemporaryError when it cannot be reached."""
        return None

    # --- pairing (capabilities.qr_pairing) ---------------------------------------
    @property
    def pairs_by_qr_code(self) -> bool:
        """Whether this channel is paired with a phone by QR code (its settings page shows the
        phone panel): its kind's capability, unless a provider that also connects numbers
        another way (e.g. through Meta's Cloud API) says this channel is not."""
        return self.capabilities.qr_pairing

    def pair(self, *, phone: str = "") -> ConnectionUpdate:
        """Start pairing the channel with a phone, or refresh it: the QR code to show (or, with
        `phone`, the code to type on that phone instead of a scan), or the state if paired."""
        raise _not_paired_by_qr()

    def connection_state(self) -> ConnectionUpdate:
        """The link's state as the provider reports it now (a backstop for lost webhooks)."""
        raise _not_paired_by_qr()

    def disconnect(self) -> None:
        """Log the phone out (the channel stays, to be paired again)."""
        raise _not_paired_by_qr()

    def restart(self) -> None:
        """Restart the provider's session of this channel."""
        raise _not_paired_by_qr()

    def remove(self) -> None:
        """Delete what the provider keeps for this channel (when the channel is archived)."""
        return None

    def sandbox_scan(self, *, phone: str) -> None:
        """A sandbox channel (one that talks to the provider's local simulator): play the phone
        scanning its QR code (the settings page's "Simulate the scan" button in the demo)."""
        raise ProviderPermanentError("Only a sandbox channel can simulate a scan.", code="not_sandbox")

    @classmethod
    def connects_without_settings(cls) -> bool:
        """Whether a channel of this kind can be connected with nothing but its name: this
        installation provides the provider's server (and its key). The seeds' one-call connect
        and their health ask it (integrations.seed_contracts)."""
        return False

    # --- one address for many channels (the seeds' unified webhooks) ------------------
    @classmethod
    def webhook_channels_named(cls, body: bytes) -> Q | None:
        """For a provider that posts the events of many channels to one address (the seeds'
        unified webhooks, integrations.seed_contracts): the channels of this kind that a body
        names, as a filter of Channel rows (on what their config keeps); None when it names
        none. The body is not verified yet: the channel it names verifies it (verify_webhook)
        before anything is stored."""
        return None

    def setup_steps(self) -> list[SetupStep]:
        """What an admin copies into the provider's console, and facts about the channel."""
        return []

    @classmethod
    def demo_channels(cls, *, tenant_slug: str, tenant_name: str, number: int) -> list[DemoChannel]:
        """The demo data's channels on this kind, for the demo tenant `number` (1, 2...)."""
        return []
