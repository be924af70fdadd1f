"""The providers `python -m benchmarks.whatsapp --provider` measures, each against its own
simulator: what the benchmark's phases need to know of one, and nothing else.

    cloud      WhatsApp Cloud (Graph API simulator): X-Hub-Signature-256, sent/delivered/read
    evolution  WhatsApp through Evolution API (its simulator): the channel's secret header,
               send.message then messages.update DELIVERY_ACK, READ
    baileys    WhatsApp through a connection service (its simulator): X-Webhook-Signature
               (HMAC-SHA256), message.status DELIVERY_ACK, READ

Per provider: the bench channel (its kind, config and credentials, made as rows: connecting
would ask the provider), the simulator started and stopped in this process, the settings the
server and worker processes need to reach it, one inbound text webhook as the provider posts it
(body and headers, from the simulator's own builders), an inbound text posted by the simulator
itself, the sends the simulator accepted, its receipts after each send, and waiting for its
webhooks. The phases stay generic (benchmarks.whatsapp).

It imports the product's models: import it after `django.setup()`.
"""

from __future__ import annotations

import abc
import secrets
import time
from collections.abc import Callable
from typing import ClassVar, Protocol

from benchmarks.harness import HOST, BenchData, BenchNumber, bench_data_create
from channels_app.models import Channel
from config.crypto import Secrets
from integrations.baileys_service.adapter import ConnectionServiceAdapter, new_session_id
from integrations.baileys_service.client import AUTH_BEARER, STYLE_V1
from integrations.baileys_service.simulator import ConnectionServiceSimulator
from integrations.base import ChannelAdapter
from integrations.evolution.adapter import SECRET_HEADER, WhatsAppEvolutionAdapter
from integrations.evolution.events import SUBSCRIBED
from integrations.evolution.forms import QR_PAIRING
from integrations.evolution.simulator import EvolutionSimulator
from integrations.whatsapp_cloud.adapter import WhatsAppCloudAdapter
from integrations.whatsapp_cloud.simulator import GraphSimulator, webhook_body, webhook_signature
from tenants.models import Tenant


class InboundText(Protocol):
    """One inbound text webhook as its provider posts it: (body, headers)."""

    def __call__(self, *, message_id: str, customer: str, name: str, text: str) -> tuple[bytes, dict[str, str]]: ...


# Every benchmark channel: a high cap, and (QR-paired providers) no pause between two sends, so
# that the outbound phase measures the pipeline rather than the pacing meant for a phone.
BENCH_THROUGHPUT = 1000
NO_PACING = [0, 0]


def _pacing_words(adapter: type[ChannelAdapter]) -> str:
    """The production defaults of an adapter's sending, in words ("" when it paces nothing)."""
    pacing, cap = adapter.default_send_pacing_seconds, adapter.default_throughput_per_second
    if pacing is None and cap is None:
        return ""
    parts = []
    if cap is not None:
        parts.append(f"at most {cap:g} sends/s (default_throughput_per_second)")
    if pacing is not None:
        low, high = pacing
        parts.append(f"a random {low:g}-{high:g} s between two sends (default_send_pacing_seconds, about "
                     f"{2 / (low + high):.2g} sends/s)")
    return (f"production defaults pace a {adapter.kind} channel's sends: {' and '.join(parts)}; this run's "
            f"channel has send_pacing_seconds {NO_PACING} and throughput_per_second {BENCH_THROUGHPUT} to "
            f"measure the pipeline ([0, 0]: no pacing)")


class BenchProvider(abc.ABC):
    """One provider as the benchmark drives it: its channel, its simulator, its webhooks."""

    name: ClassVar[str]  # --provider
    title: ClassVar[str]  # for people
    adapter: ClassVar[type[ChannelAdapter]]
    proof: ClassVar[str]  # how its webhooks prove where they come from, in the report's words
    id_prefix: ClassVar[str] = ""  # of the message ids the benchmark makes up

    def __init__(self) -> None:
        self.data: BenchData | None = None

    @property
    def channel(self) -> Channel:
        assert self.data is not None, "data_create first"
        return self.data.channel

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/{self.channel.kind}/{self.channel.webhook_token}"

    def webhook_url(self, port: int) -> str:
        return f"http://{HOST}:{port}{self.webhook_path}"

    @property
    def pacing_note(self) -> str:
        return _pacing_words(self.adapter)

    def data_create(self, *, run_id: str) -> BenchData:
        """The tenant, its integrator and the bench channel (benchmarks.harness deletes them)."""
        self.data = bench_data_create(run_id=run_id, throughput=BENCH_THROUGHPUT, channel_create=self._channel_create)
        return self.data

    def _channel_create(self, tenant: Tenant) -> Channel:
        """The bench channel, for a provider that keeps this `data_create` (the Cloud one has its own)."""
        raise NotImplementedError

    @abc.abstractmethod
    def simulator_start(self, *, port: int) -> str:
        """Start the simulator, its account posting to the server on `port`; its base URL."""

    @abc.abstractmethod
    def simulator_stop(self) -> None: ...

    @abc.abstractmethod
    def environment(self) -> dict[str, str]:
        """The settings the server and worker processes need to reach the simulator."""

    @abc.abstractmethod
    def inbound_text(self, *, message_id: str, customer: str, name: str, text: str) -> tuple[bytes, dict[str, str]]:
        """One inbound text webhook of `customer` (digits), as the provider posts it: its body,
        and its headers but Content-Type (benchmarks.harness.http_request writes that)."""

    @abc.abstractmethod
    def simulator_inbound_text(self, *, message_id: str, customer: str, text: str) -> None:
        """The simulator posts a customer's text itself (to the channel's webhook URL)."""

    @abc.abstractmethod
    def sends_mark(self) -> int:
        """Where the simulator's record of accepted sends is now (for `sends_since`)."""

    @abc.abstractmethod
    def sends_since(self, mark: int) -> list[tuple[str, float]]:
        """(provider message id, time.time()) of each send the simulator accepted for the
        channel since `mark`."""

    def rejected_by_cap(self) -> int | None:
        """Sends the simulator refused for its own throughput cap so far (None: it has none)."""
        return None

    @abc.abstractmethod
    def receipts(self, *, enabled: bool) -> str:
        """Whether the simulator answers each send with its receipts; what it posts, in words."""

    @abc.abstractmethod
    def wait_for_webhooks(self, timeout: float) -> bool: ...

    def outbound_words(self) -> str:
        config = self.channel.config
        return (f"channel config throughput_per_second {config.get('throughput_per_second')}, "
                f"send_pacing_seconds {config.get('send_pacing_seconds')}")


def _without_content_type(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() != "content-type"}


# --- WhatsApp Cloud ------------------------------------------------------------------------------


def cloud_inbound_text(number: BenchNumber, *, message_id: str, customer: str, name: str,
                       text: str) -> tuple[bytes, dict[str, str]]:
    """The inbound-text.json shape, Meta's bytes and signature."""
    payload = {"object": "whatsapp_business_account", "entry": [{"id": number.waba_id, "changes": [{
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": number.display_phone_number.lstrip("+"),
                         "phone_number_id": number.phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": customer}],
            "messages": [{"from": customer, "id": message_id, "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}],
        },
        "field": "messages"}]}]}
    body = webhook_body(payload)
    return body, {"X-Hub-Signature-256": webhook_signature(number.app_secret, body),
                  "User-Agent": "facebookexternalua"}


class CloudProvider(BenchProvider):
    adapter = WhatsAppCloudAdapter
    name = "cloud"
    title = "WhatsApp Cloud"
    proof = "Signed"
    id_prefix = "wamid."

    def __init__(self) -> None:
        super().__init__()
        self.simulator: GraphSimulator | None = None

    @property
    def number(self) -> BenchNumber:
        assert self.data is not None and self.data.number is not None
        return self.data.number

    @property
    def pacing_note(self) -> str:
        return ""  # Meta paces nothing of ours: the simulator's number is capped as the channel is

    def data_create(self, *, run_id: str) -> BenchData:
        self.data = bench_data_create(run_id=run_id, throughput=BENCH_THROUGHPUT)
        return self.data

    def simulator_start(self, *, port: int) -> str:
        number = self.number
        self.simulator = GraphSimulator(host=HOST, port=0, webhook_concurrency=8)
        self.simulator.start()
        self.simulator.add_number(
            number.phone_number_id, token=number.token, app_secret=number.app_secret, waba_id=number.waba_id,
            webhook_url=self.webhook_url(port), display_phone_number=number.display_phone_number,
            throughput_per_second=BENCH_THROUGHPUT,
        )
        return self.simulator.base_url

    def simulator_stop(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()

    def environment(self) -> dict[str, str]:
        return {"WHATSAPP_GRAPH_API_URL": self.simulator.base_url if self.simulator else ""}

    def inbound_text(self, *, message_id: str, customer: str, name: str, text: str) -> tuple[bytes, dict[str, str]]:
        return cloud_inbound_text(self.number, message_id=message_id, customer=customer, name=name, text=text)

    def simulator_inbound_text(self, *, message_id: str, customer: str, text: str) -> None:
        assert self.simulator is not None
        self.simulator.inbound_text(self.number.phone_number_id, customer, text, message_id=message_id)

    def sends_mark(self) -> int:
        assert self.simulator is not None
        return len(self.simulator.sent)

    def sends_since(self, mark: int) -> list[tuple[str, float]]:
        assert self.simulator is not None
        return [(record["wamid"], record["time"]) for record in self.simulator.sent[mark:]
                if record["phone_number_id"] == self.number.phone_number_id]

    def rejected_by_cap(self) -> int | None:
        assert self.simulator is not None
        return self.simulator.stats()["sends_rejected_cap"]

    def receipts(self, *, enabled: bool) -> str:
        assert self.simulator is not None
        if not enabled:
            self.simulator.status_progression = []
        statuses = " -> ".join(self.simulator.status_progression) or "none"
        return (f"Graph API simulator in this process, status webhooks after each send: {statuses} "
                f"({self.simulator.status_delay:g}s apart)")

    def wait_for_webhooks(self, timeout: float) -> bool:
        assert self.simulator is not None
        return self.simulator.wait_for_webhooks(timeout=timeout)

    def outbound_words(self) -> str:
        return f"channel and simulator cap {self.channel.config['throughput_per_second']}/s"


# --- Evolution API -------------------------------------------------------------------------------


class EvolutionProvider(BenchProvider):
    adapter = WhatsAppEvolutionAdapter
    name = "evolution"
    title = "WhatsApp through Evolution API"
    proof = "Secret-header"
    GLOBAL_KEY = "BENCH-EVOLUTION-GLOBAL-KEY"
    PHONE = "5511955500199"

    def __init__(self) -> None:
        super().__init__()
        self.simulator: EvolutionSimulator | None = None

    @property
    def instance(self) -> str:
        return str(self.channel.config["instance"])

    def _channel_create(self, tenant: Tenant) -> Channel:
        return Channel.all_objects.create(
            tenant=tenant, kind=self.adapter.kind, name="Benchmark WhatsApp (Evolution API)",
            status=Channel.Status.CONNECTED,
            config={"instance": f"bench-{secrets.token_hex(6)}", "integration": QR_PAIRING, "phone": f"+{self.PHONE}",
                    "throughput_per_second": BENCH_THROUGHPUT, "send_pacing_seconds": NO_PACING},
            credentials=Secrets({"instance_token": f"BENCH-{secrets.token_hex(12).upper()}",
                                 "webhook_secret": secrets.token_urlsafe(32)}),
        )

    def simulator_start(self, *, port: int) -> str:
        credentials = self.channel.credentials
        self.simulator = EvolutionSimulator(host=HOST, port=0, api_key=self.GLOBAL_KEY)
        self.simulator.start()
        # The instance as connecting the channel leaves it (adapter._webhook): paired, posting
        # every subscribed event to the channel with its secret header.
        self.simulator.add_instance(
            self.instance, token=str(credentials["instance_token"]), webhook_url=self.webhook_url(port),
            webhook_headers={SECRET_HEADER: str(credentials["webhook_secret"]), "Content-Type": "application/json"},
            state="open", phone=self.PHONE, events=SUBSCRIBED)
        return self.simulator.base_url

    def simulator_stop(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()

    def environment(self) -> dict[str, str]:
        return {"EVOLUTION_API_URL": self.simulator.base_url if self.simulator else "",
                "EVOLUTION_API_KEY": self.GLOBAL_KEY}

    def inbound_text(self, *, message_id: str, customer: str, name: str, text: str) -> tuple[bytes, dict[str, str]]:
        assert self.simulator is not None
        data = self.simulator.inbound_text_data(self.instance, customer, text, push_name=name, message_id=message_id)
        _url, body, headers = self.simulator.webhook_request(self.instance, "messages.upsert", data)
        return body, _without_content_type(headers)

    def simulator_inbound_text(self, *, message_id: str, customer: str, text: str) -> None:
        assert self.simulator is not None
        self.simulator.inbound_text(self.instance, customer, text, message_id=message_id)

    def sends_mark(self) -> int:
        assert self.simulator is not None
        return len(self.simulator.sent)

    def sends_since(self, mark: int) -> list[tuple[str, float]]:
        assert self.simulator is not None
        return [(record["id"], record["time"]) for record in self.simulator.sent[mark:]
                if record["instance"] == self.instance]

    def receipts(self, *, enabled: bool) -> str:
        assert self.simulator is not None
        if not enabled:
            self.simulator.status_progression = []
        statuses = " -> ".join(self.simulator.status_progression) or "none"
        return (f"Evolution API simulator in this process (one delivery thread, as Evolution posts an instance's "
                f"events in order), webhooks after each send: send.message, then messages.update {statuses} "
                f"({self.simulator.status_delay:g}s apart)")

    def wait_for_webhooks(self, timeout: float) -> bool:
        assert self.simulator is not None
        return self.simulator.wait_for_webhooks(timeout=timeout)


# --- The connection service (Baileys) ----------------------------------------------------------------


class BaileysProvider(BenchProvider):
    adapter = ConnectionServiceAdapter
    name = "baileys"
    title = "WhatsApp through a connection service (Baileys)"
    proof = "Signed"
    API_KEY = "BENCH-CONNECTION-SERVICE-KEY"
    PHONE = "5511966600199"

    def __init__(self) -> None:
        super().__init__()
        self.simulator: ConnectionServiceSimulator | None = None

    @property
    def session(self) -> str:
        return str(self.channel.config["session_id"])

    def _channel_create(self, tenant: Tenant) -> Channel:
        return Channel.all_objects.create(
            tenant=tenant, kind=self.adapter.kind, name="Benchmark WhatsApp (connection service)",
            status=Channel.Status.CONNECTED,
            config={"session_id": new_session_id(), "path_style": STYLE_V1, "auth_header": AUTH_BEARER,
                    "phone": f"+{self.PHONE}", "throughput_per_second": BENCH_THROUGHPUT,
                    "send_pacing_seconds": NO_PACING},
            credentials=Secrets({"webhook_secret": secrets.token_urlsafe(32)}),
        )

    def simulator_start(self, *, port: int) -> str:
        self.simulator = ConnectionServiceSimulator(host=HOST, port=0, api_key=self.API_KEY, qr_events=False)
        self.simulator.start()
        # The session as the admin configures it on the service (the channel's setup steps):
        # paired, posting to the channel's webhook URL, signing with its secret.
        self.simulator.add_session(self.session, webhook_url=self.webhook_url(port),
                                   secret=str(self.channel.credentials["webhook_secret"]), connected=True,
                                   phone=self.PHONE)
        return self.simulator.base_url

    def simulator_stop(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()

    def environment(self) -> dict[str, str]:
        return {"CONNECTION_SERVICE_URL": self.simulator.base_url if self.simulator else "",
                "CONNECTION_SERVICE_API_KEY": self.API_KEY}

    def inbound_text(self, *, message_id: str, customer: str, name: str, text: str) -> tuple[bytes, dict[str, str]]:
        assert self.simulator is not None
        data = self.simulator.text_message(phone=customer, text=text, name=name, message_id=message_id)
        _url, body, headers = self.simulator.webhook_request(self.session, "message", data)
        return body, _without_content_type(headers)

    def simulator_inbound_text(self, *, message_id: str, customer: str, text: str) -> None:
        assert self.simulator is not None
        self.simulator.inbound_text(self.session, phone=customer, text=text, message_id=message_id)

    def sends_mark(self) -> int:
        assert self.simulator is not None
        return len(self.simulator.sent)

    def sends_since(self, mark: int) -> list[tuple[str, float]]:
        assert self.simulator is not None
        return [(record["messageId"], record["time"]) for record in self.simulator.sent[mark:]
                if record["session"] == self.session]

    def receipts(self, *, enabled: bool) -> str:
        assert self.simulator is not None
        if not enabled:
            self.simulator.status_progression = ()
        names = {3: "DELIVERY_ACK", 4: "READ"}
        statuses = " -> ".join(f"{status} ({names.get(status, '?')})" for status in self.simulator.status_progression)
        return (f"connection service simulator in this process (one delivery thread, in order), signed webhooks "
                f"after each send: message.status {statuses or 'none'} ({self.simulator.status_delay:g}s apart)")

    def wait_for_webhooks(self, timeout: float) -> bool:
        assert self.simulator is not None
        return self.simulator.wait_for_webhooks(timeout=timeout)


PROVIDERS: dict[str, Callable[[], BenchProvider]] = {
    provider.name: provider for provider in (CloudProvider, EvolutionProvider, BaileysProvider)
}


def provider_create(name: str) -> BenchProvider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ValueError(f"no provider {name!r}: choose among {', '.join(PROVIDERS)}") from None

