"""`python -m benchmarks.whatsapp`: a WhatsApp pipeline measured in the production shape, the
WhatsApp Cloud one by default, or Evolution API's or the connection service's (`--provider`).

    python -m benchmarks.whatsapp [--provider cloud|evolution|baileys] [--duration 60] [--rate 100] [--quick]
        [--keep] [--clean]
        [--connections 32] [--server-workers N] [--worker-pool prefork|threads] [--worker-concurrency N] [--worker-nice 10]
        [--server-conn-max-age 0] [--worker-conn-max-age 60] [--e2e-messages 1000] [--outbound-messages 2000] [--server uvicorn|daphne]
        [--no-status-webhooks] [--phases baseline,webhooks,e2e,outbound]

Run it from the repository root. It needs DATABASE_URL (PostgreSQL) and REDIS_URL, each a
database of its own: it starts an ASGI server and a Celery worker on them, creates and deletes a
tenant of its own, and stops by itself. The figures of a run: docs/benchmarks.md (the current ones in the README).

Everything runs on this machine and over loopback only: an ASGI server (several worker
processes) on `benchmarks.asgi:application`, which is the product's `config.asgi:application`
plus a bare view; a Celery worker; PostgreSQL and Redis as configured; the provider's simulator
(the Graph API's, Evolution API's or the connection service's: benchmarks.providers) in this
process, and the load generator and the integrator's WebSocket client in this process too. Every
loop is bounded in count and time.

The phases, in order (each waits for the previous one's work to drain):

1. baseline: a 200 answered by the ASGI layer (the ceiling of server + load generator), and a
   bare Django view behind the whole middleware stack (the ceiling of Django in this server
   configuration); both with the same signed bodies as the webhooks;
2. webhooks: distinct inbound-text webhooks, signed or authenticated as the provider does (and
   5 % exact duplicates), posted as fast as the server takes them over keep-alive connections
   for `duration` seconds;
3. processing: from the first POST until the last message is stored; lost and duplicated;
4. end to end: webhooks at a fixed rate, each timed to its `message.created` frame on an
   integrator WebSocket (/ws/v1/events);
5. outbound: PENDING replies created in one go, each announced to the sending listener, timed until
   every one is SENT, the simulator posting the provider's receipts after each send; failed and
   double sends. The channels of QR-paired providers pace their sends in production: the bench
   channel has no pause between two (the report gives the defaults).
"""

from __future__ import annotations

import os

import django

# Before anything imports a model: this runs as a script, not under manage.py.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import deque  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.access import TenantAccess  # noqa: E402
from accounts.models import Role  # noqa: E402
from accounts.services import tokens_issue  # noqa: E402
from benchmarks.asgi import BARE_VIEW_PATH, RAW_ASGI_PATH  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    HOST,
    BenchData,
    BenchmarkError,
    EventsSocket,
    HttpConnection,
    LoadResult,
    Processes,
    Shape,
    bench_data_delete,
    closed_loop,
    command_run,
    cpu_snapshot,
    cpu_used,
    free_port,
    http_request,
    machine_facts,
    percentile,
    say,
    stale_benchmark_tenants,
)
from benchmarks.providers import PROVIDERS, BenchProvider, InboundText, provider_create  # noqa: E402
from contacts.models import Contact, ContactIdentity  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from integrations.models import WebhookEvent  # noqa: E402

DUPLICATE_EVERY = 20  # every 20th webhook repeats an earlier body byte for byte: 5 %
CONTACTS = 500  # distinct customers writing in (one contact's messages are serialised by design)
STALL_SECONDS = 60.0  # a drain with no progress for this long stops; what is missing then is lost
DRAIN_LIMIT_SECONDS = 1800.0
# Messages stored last before the end-to-end phase whose frames may still be in flight when its
# socket joins (the phase before drained what it posted): far more than can be.
STRAGGLERS = 5000


@dataclass
class Report:
    provider: str = "WhatsApp Cloud"
    proof: str = "Signed"  # how the provider's webhooks prove where they come from
    notes: list[str] = field(default_factory=list)
    machine: dict[str, str] = field(default_factory=dict)
    configuration: dict[str, str] = field(default_factory=dict)
    raw_asgi: LoadResult | None = None
    bare_view: LoadResult | None = None
    webhooks: LoadResult | None = None
    webhooks_posted_duplicates: int = 0
    processed: int = 0
    processed_seconds: float = 0.0
    processing_failed_events: int = 0
    processing_drained: bool = False
    lost: int = 0
    duplicated: int = 0
    e2e_rate: float = 0.0
    e2e_sent: int = 0
    e2e_latencies: list[float] = field(default_factory=list)
    e2e_missing: int = 0
    e2e_socket_closed: str = ""
    e2e_post: LoadResult | None = None
    outbound_total: int = 0
    outbound_sent: int = 0
    outbound_failed: int = 0
    outbound_seconds: float = 0.0
    outbound_simulator_sends: int = 0
    outbound_rejected_cap: int | None = 0  # None: the simulator has no cap
    outbound_double_sends: int = 0
    outbound_cpu: dict[str, float] = field(default_factory=dict)
    processing_cpu: dict[str, float] = field(default_factory=dict)


# --- Signed inbound webhooks -----------------------------------------------------------------------


class InboundWebhooks:
    """Distinct signed inbound-text webhooks as the provider posts them (`inbound_text`: for
    WhatsApp Cloud the inbound-text.json shape, Meta's bytes and signature), with a unique
    message id each; every DUPLICATE_EVERY-th one repeats an earlier body."""

    def __init__(self, *, inbound_text: InboundText, path: str, prefix: str, duplicates: bool) -> None:
        self.inbound_text, self.path, self.prefix, self.duplicates = inbound_text, path, prefix, duplicates
        self.count = 0
        self.duplicates_posted = 0
        self.recent: deque[tuple[bytes, str]] = deque(maxlen=200)
        self.random = random.Random(prefix)

    def wamid(self, index: int) -> str:
        return f"{self.prefix}{index:08d}"

    def _fresh(self) -> tuple[bytes, str]:
        index = self.count
        self.count += 1
        wa_id = f"5511{9_0000_0000 + index % CONTACTS:09d}"
        wamid = self.wamid(index)
        body, headers = self.inbound_text(message_id=wamid, customer=wa_id, name=f"Cliente {index % CONTACTS}",
                                          text=f"Olá, pedido {index}: ainda está disponível em outra cor?")
        raw = http_request(self.path, body, headers)
        self.recent.append((raw, wamid))
        return raw, wamid

    def next(self) -> tuple[bytes, str]:
        if self.duplicates and self.recent and (self.count + self.duplicates_posted) % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
            self.duplicates_posted += 1
            return self.random.choice(self.recent)
        return self._fresh()


# --- The run -------------------------------------------------------------------------------------------


PHASES = frozenset({"baseline", "webhooks", "e2e", "outbound"})


@dataclass(frozen=True)
class Options:
    duration: float
    rate: float
    quick: bool
    connections: int
    e2e_messages: int
    outbound_messages: int
    baseline_seconds: float
    shape: Shape
    keep: bool
    outbound_status_webhooks: bool = True
    phases: frozenset[str] = PHASES
    provider: str = "cloud"


class Benchmark:
    def __init__(self, options: Options, write: Callable[[str], None]) -> None:
        self.options = options
        self.write = write
        self.report = Report()
        self.run_id = f"{dt.datetime.now():%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
        self.log_dir = Path(tempfile.mkdtemp(prefix="benchmark_whatsapp-"))
        self.processes = Processes(self.log_dir)
        self.provider: BenchProvider = provider_create(options.provider)
        self.data: BenchData | None = None
        self.port = 0

    # --- lifecycle ---

    def run(self) -> Report:
        report = self.report
        report.provider, report.proof = self.provider.title, self.provider.proof
        if self.provider.pacing_note:
            report.notes.append(self.provider.pacing_note)
        report.machine = machine_facts()
        stale = stale_benchmark_tenants()
        if stale:
            self.write(f"note: benchmark tenants left by earlier runs (--keep or killed): {', '.join(stale[:5])} "
                       f"(--clean deletes them)")
        try:
            self.data = self.provider.data_create(run_id=self.run_id)
            self._start()
            self._configuration()
            self._warm_up()
            phases = self.options.phases
            if "baseline" in phases:
                asyncio.run(self._baseline())
            if "webhooks" in phases:
                self._webhooks_and_processing()
            if "e2e" in phases:
                if "webhooks" not in phases:
                    self._customers_write_in()
                self._end_to_end()
            if "outbound" in phases:
                self._outbound()
            self._settle()
        finally:
            # A second Ctrl-C must not cut the stopping of the processes and the deletion short.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self._stop()
            finally:
                signal.signal(signal.SIGINT, previous)
        return report

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            **self.provider.environment(),
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore",
        })
        return env

    def _start(self) -> None:
        assert self.data is not None
        self.port = free_port()
        simulator_url = self.provider.simulator_start(port=self.port)
        shape = self.options.shape
        server_argv, server_text = shape.server_argv(self.port)
        worker_argv, worker_text = shape.worker_argv(self.run_id)
        self.report.configuration.update({"server": server_text, "worker": worker_text})
        self.processes.start("server", server_argv,
                             {**self._environment(), "DB_CONN_MAX_AGE": str(shape.server_conn_max_age)})
        self.processes.start("worker", worker_argv,
                             {**self._environment(), "DB_CONN_MAX_AGE": str(shape.worker_conn_max_age)})
        self.write(f"Started the server on {HOST}:{self.port} and the worker (logs: {self.log_dir}); "
                   f"simulator on {simulator_url}.")

    def _stop(self) -> None:
        self.processes.stop()
        self.provider.simulator_stop()
        if self.data is not None:
            if self.options.keep:
                self.write(f"Kept the benchmark data: tenant {self.data.tenant.slug}.")
            else:
                bench_data_delete(self.data)
                self.write(f"Deleted the benchmark data (tenant {self.data.tenant.slug}).")

    def _configuration(self) -> None:
        shape, options = self.options.shape, self.options
        self.report.configuration.update({
            "provider": f"{self.provider.name}: {self.provider.title}, channel kind {self.data.channel.kind}"
                        if self.data else self.provider.name,
            "settings": f"{settings.SETTINGS_MODULE}, DEBUG false, LOG_LEVEL WARNING, DB_CONN_MAX_AGE "
                        f"{shape.server_conn_max_age} (server), {shape.worker_conn_max_age} (worker)",
            "load": f"{options.connections} keep-alive connections (closed loop), Python asyncio in this process",
            "database": f"{connection.settings_dict['NAME']} on {connection.settings_dict.get('HOST') or 'local'}",
            "redis": settings.REDIS_URL,
        })

    # --- helpers ---

    @property
    def webhook_path(self) -> str:
        return self.provider.webhook_path

    def _prefix(self, phase: str) -> str:
        """The message ids a phase makes up start with it (WhatsApp Cloud's: wamid.BENCH...)."""
        return f"{self.provider.id_prefix}BENCH{self.run_id}{phase}"

    def _inbound_webhooks(self, *, path: str, prefix: str, duplicates: bool) -> InboundWebhooks:
        return InboundWebhooks(inbound_text=self.provider.inbound_text, path=path, prefix=prefix,
                               duplicates=duplicates)

    def _inbound_count(self, prefix: str) -> int:
        assert self.data is not None
        return Message.all_objects.filter(channel=self.data.channel, direction=Message.Direction.INBOUND,
                                          provider_message_id__startswith=prefix).count()

    def _wait_until(self, what: str, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            self.processes.check()
            if time.monotonic() > deadline:
                raise BenchmarkError(f"Timed out after {timeout:.0f}s waiting for {what}.\n"
                                     f"server log:\n{self.processes.log_tail('server')}\n"
                                     f"worker log:\n{self.processes.log_tail('worker')}")
            time.sleep(0.2)

    def _warm_up(self) -> None:
        """The server answers, every worker process has served requests, and the pipeline works
        end to end through the simulator (what sandbox mode does)."""

        def answers() -> bool:
            async def ask() -> int:
                http = HttpConnection(self.port)
                status = await http.request(http_request(RAW_ASGI_PATH, b"{}"), timeout=2)
                http.close()
                return status

            return asyncio.run(ask()) == 200

        self._wait_until("the ASGI server to answer", answers, 90)
        assert self.data is not None
        first = self._prefix("S")
        self.provider.simulator_inbound_text(message_id=first, customer="5511900000000", text="Warm-up")
        self._wait_until("the simulator's warm-up message to be stored (is the Celery worker consuming?)",
                         lambda: self._inbound_count(first) == 1, 90)
        body = b'{"warm":"up"}'
        asyncio.run(closed_loop(name="warm-up", port=self.port, seconds=2, connections=self.options.connections,
                                next_request=lambda: (http_request(BARE_VIEW_PATH, body), None)))
        prefix = self._prefix("W")
        warm = self._inbound_webhooks(path=self.webhook_path, prefix=prefix, duplicates=False)
        accepted: set[str] = set()
        asyncio.run(closed_loop(name="warm-up", port=self.port, seconds=2, connections=4, next_request=warm.next,
                                on_answer=lambda wamid, status: accepted.add(str(wamid)) if status == 200 else None))
        self._drain(prefix=prefix, expected=len(accepted), quiet=True)
        self.write("Warmed up: server, worker and simulator answer; the pipeline stores messages.")

    # --- phase 1 ---

    async def _baseline(self) -> None:
        assert self.data is not None
        sample = self._inbound_webhooks(path=BARE_VIEW_PATH, prefix=f"{self.provider.id_prefix}SAMPLE",
                                        duplicates=False)
        raw_bare = sample.next()[0]
        raw_asgi = raw_bare.replace(BARE_VIEW_PATH.encode(), RAW_ASGI_PATH.encode(), 1)
        seconds, connections, groups = self.options.baseline_seconds, self.options.connections, self.processes.groups
        self.write(f"[1/5] Baseline: a 200 from the ASGI layer, then a bare Django view, {seconds:.0f}s each, "
                   f"{connections} connections, same signed body as a webhook...")
        self.report.raw_asgi = await closed_loop(name="raw ASGI 200", port=self.port, seconds=seconds,
                                                 connections=connections, next_request=lambda: (raw_asgi, None),
                                                 groups=groups)
        self.report.bare_view = await closed_loop(name="bare Django view", port=self.port, seconds=seconds,
                                                  connections=connections, next_request=lambda: (raw_bare, None),
                                                  groups=groups)
        for result in (self.report.raw_asgi, self.report.bare_view):
            self.write(f"      {result.name}: {result.per_second:,.0f}/s, p99 {result.latency_ms(0.99):.1f} ms")

    # --- phases 2 and 3 ---

    def _webhooks_and_processing(self) -> None:
        assert self.data is not None
        report, options = self.report, self.options
        prefix = self._prefix("A")
        webhooks = self._inbound_webhooks(path=self.webhook_path, prefix=prefix, duplicates=True)
        accepted: set[str] = set()

        def on_answer(wamid: str | None, status: int) -> None:
            if status == 200 and wamid is not None:
                accepted.add(wamid)

        self.write(f"[2/5] {self.provider.proof} webhook POSTs for {options.duration:.0f}s, {options.connections} connections, "
                   f"1 in {DUPLICATE_EVERY} an exact duplicate...")
        first_post = time.time()
        report.webhooks = asyncio.run(closed_loop(
            name=f"{self.provider.proof.lower()} webhooks", port=self.port, seconds=options.duration, connections=options.connections,
            next_request=webhooks.next, on_answer=on_answer, groups=self.processes.groups))
        result = report.webhooks
        report.webhooks_posted_duplicates = webhooks.duplicates_posted
        self.write(f"      {result.ok:,} answered 200 ({result.per_second:,.0f}/s), {result.not_ok:,} not; "
                   f"p99 {result.latency_ms(0.99):.1f} ms")

        self.write(f"[3/5] Waiting for the worker to process all {len(accepted):,} accepted messages...")
        cpu_before, wall_before = cpu_snapshot(self.processes.groups), time.monotonic()
        report.processing_drained = self._drain(prefix=prefix, expected=len(accepted))
        report.processing_cpu = cpu_used(cpu_before, cpu_snapshot(self.processes.groups),
                                         time.monotonic() - wall_before)
        channel = self.data.channel
        stored = set(Message.all_objects.filter(channel=channel, provider_message_id__startswith=prefix)
                     .values_list("provider_message_id", flat=True))
        report.processed = len(stored)
        report.lost = len(accepted - stored)
        report.duplicated = (
            Message.all_objects.filter(channel=channel, provider_message_id__startswith=prefix)
            .values("provider_message_id").annotate(n=Count("id")).filter(n__gt=1).count()
            + len(stored - accepted)  # stored although never answered 200: not a duplicate, but not expected
        )
        events = WebhookEvent.all_objects.filter(channel=channel, received_at__gte=dt.datetime.fromtimestamp(
            first_post, tz=dt.UTC))
        report.processing_failed_events = events.filter(status=WebhookEvent.Status.FAILED).count()
        last = events.aggregate(last=Max("processed_at"))["last"]
        report.processed_seconds = (last.timestamp() - first_post) if last else 0.0
        self.write(f"      {report.processed:,} stored in {report.processed_seconds:.1f}s; lost {report.lost}, "
                   f"duplicated {report.duplicated}")

    def _drain(self, *, prefix: str, expected: int, quiet: bool = False) -> bool:
        """Wait until `expected` messages with `prefix` are stored and no webhook event waits;
        False if it stalled (no progress for STALL_SECONDS) or hit DRAIN_LIMIT_SECONDS."""
        assert self.data is not None
        started = last_change = last_print = time.monotonic()
        previous = -1
        while True:
            self.processes.check()
            stored = self._inbound_count(prefix)
            waiting = WebhookEvent.all_objects.filter(channel=self.data.channel,
                                                      status=WebhookEvent.Status.RECEIVED).count()
            now = time.monotonic()
            if stored >= expected and waiting == 0:
                return True
            if stored != previous:
                previous, last_change = stored, now
            if now - last_change > STALL_SECONDS or now - started > DRAIN_LIMIT_SECONDS:
                self.write(f"      stopped waiting: {stored:,}/{expected:,} stored, {waiting:,} events unprocessed")
                return False
            if not quiet and now - last_print >= 10:
                self.write(f"      ... {stored:,}/{expected:,} stored, {waiting:,} events waiting")
                last_print = now
            time.sleep(0.25)

    def _customers_write_in(self) -> None:
        """Without the webhooks phase, the end-to-end phase's customers would all be new ones
        (contact, identity and conversation created with their first message): let each write
        once first, as in a full run, so that the phase measures the usual message."""
        assert self.data is not None
        prefix = self._prefix("S")
        webhooks = self._inbound_webhooks(path=self.webhook_path, prefix=prefix, duplicates=False)
        first = [webhooks.next() for _ in range(CONTACTS)]
        self.write(f"      (first, each of the {CONTACTS} customers writes once)")

        async def post_all() -> int:
            http, ok = HttpConnection(self.port), 0
            for raw, _wamid in first:
                ok += await http.request(raw) == 200
            http.close()
            return ok

        self._drain(prefix=prefix, expected=asyncio.run(post_all()), quiet=True)

    # --- phase 4 ---

    def _end_to_end(self) -> None:
        assert self.data is not None
        report, options = self.report, self.options
        report.e2e_rate, report.e2e_sent = options.rate, options.e2e_messages
        prefix = self._prefix("E")
        webhooks = self._inbound_webhooks(path=self.webhook_path, prefix=prefix, duplicates=False)
        requests = [webhooks.next() for _ in range(options.e2e_messages)]
        access = TenantAccess(user=self.data.user, tenant=self.data.tenant, role=Role.MANAGER)
        token = tokens_issue(access=access)["access"]
        self.write(f"[4/5] End to end: {options.e2e_messages:,} webhooks at {options.rate:g}/s, each timed to its "
                   f"message.created frame on /ws/v1/events...")
        # Frames of earlier phases' last messages can still be on their way: only messages
        # stored from now on count. Frames name messages by public id: those of the last ones
        # stored before (the only ones whose frames can still be in flight) are left out.
        floor = Message.all_objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        earlier = {str(public_id) for public_id in Message.all_objects.filter(
            pk__gt=floor - STRAGGLERS, pk__lte=floor).values_list("public_id", flat=True)}
        frames, sent_at, report.e2e_post = asyncio.run(self._paced_with_socket(requests, token, earlier))
        provider_ids = {str(public_id): wamid for public_id, wamid in Message.all_objects.filter(
            public_id__in=list(frames)).values_list("public_id", "provider_message_id")}
        latencies = [arrived - sent_at[wamid] for message_id, arrived in frames.items()
                     if (wamid := provider_ids.get(message_id)) in sent_at]
        report.e2e_latencies = sorted(latencies)
        report.e2e_missing = options.e2e_messages - len(latencies)
        if report.e2e_socket_closed:
            self.write(f"      the socket closed early, {report.e2e_socket_closed}")
        self.write(f"      {len(latencies):,}/{options.e2e_messages:,} frames matched; p50 "
                   f"{percentile(report.e2e_latencies, .5) * 1e3:.1f} ms, p99 "
                   f"{percentile(report.e2e_latencies, .99) * 1e3:.1f} ms")
        self._drain(prefix=prefix, expected=report.e2e_post.ok, quiet=True)

    async def _paced_with_socket(self, requests: list[tuple[bytes, str]], token: str,
                                 earlier: set[str]) -> tuple[dict[str, float], dict[str, float], LoadResult]:
        """Post `requests` at the set rate while an integrator socket listens; returns when each
        message.created frame came (by message id, public), when each webhook was due (by
        wamid), and what the POSTs saw. Frames of the messages `earlier` are not counted. Both
        clocks are this process's perf_counter."""
        rate, count = self.options.rate, len(requests)
        events = EventsSocket(self.port)
        await events.connect()
        await events.send_json({"type": "auth", "token": token})
        ready = await asyncio.wait_for(events.receive_json(), 10)
        if not ready or ready.get("type") != "ready":
            raise BenchmarkError(f"The integrator WebSocket did not get ready: {ready}")
        self.report.configuration["websocket"] = f"/ws/v1/events, JWT auth message, {events.implementation}"

        frames: dict[str, float] = {}
        all_frames = asyncio.Event()

        async def listen() -> None:
            while True:
                frame = await events.receive_json()
                if frame is None:
                    if len(frames) < count:
                        self.report.e2e_socket_closed = f"after {len(frames)} frames: {events.closed_reason}"
                    all_frames.set()
                    return
                arrived = time.perf_counter()
                data = frame.get("data") or {}
                if (frame.get("name") == "message.created" and data.get("direction") == "INBOUND"
                        and data["message_id"] not in earlier):
                    frames[data["message_id"]] = arrived
                    if len(frames) >= count:
                        all_frames.set()

        sent_at: dict[str, float] = {}
        post = LoadResult(name="paced webhooks")
        idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
        for _ in range(16):
            idle.put_nowait(HttpConnection(self.port))

        async def post_one(raw: bytes, wamid: str, due: float) -> None:
            http = await idle.get()
            sent_at[wamid] = due
            status = await http.request(raw)
            idle.put_nowait(http)
            post.statuses[status] += 1
            if status == 200:
                post.latencies.append(time.perf_counter() - due)

        listener = asyncio.create_task(listen())
        started = time.perf_counter()
        cpu_before, mine_before = cpu_snapshot(self.processes.groups), time.process_time()
        tasks = []
        for index, (raw, wamid) in enumerate(requests):
            due = started + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            # Timed from when it was due: a late send counts against the figure, not for it.
            tasks.append(asyncio.create_task(post_one(raw, wamid, due)))
        await asyncio.gather(*tasks)
        post.seconds = time.perf_counter() - started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_frames.wait(), 120)
        elapsed = time.perf_counter() - started
        post.generator_cpu = (time.process_time() - mine_before) / elapsed
        post.cpu = cpu_used(cpu_before, cpu_snapshot(self.processes.groups), elapsed)
        listener.cancel()
        await events.close()
        while not idle.empty():
            idle.get_nowait().close()
        return frames, sent_at, post

    # --- phase 5 ---

    def _outbound(self) -> None:
        from conversations.events import MessageCreated
        from integrations.outbound.listeners import replies_send

        assert self.data is not None
        provider = self.provider
        report, channel, tenant = self.report, self.data.channel, self.data.tenant
        count = self.options.outbound_messages
        wa_id = "5511988887777"
        contact = Contact.all_objects.create(tenant=tenant, name="Cliente das respostas", phone=f"+{wa_id}")
        ContactIdentity.all_objects.create(tenant=tenant, contact=contact, channel=channel, external_id=wa_id)
        conversation = Conversation.all_objects.create(tenant=tenant, channel=channel, contact=contact,
                                                       last_inbound_at=timezone.now())
        messages = Message.all_objects.bulk_create([
            Message(tenant=tenant, conversation=conversation, channel=channel, direction=Message.Direction.OUTBOUND,
                    sender_type=Message.SenderType.AGENT, type=Message.Type.TEXT, status=Message.Status.PENDING,
                    content=f"Resposta {index}: seu pedido já saiu para entrega.")
            for index in range(count)
        ], batch_size=1000)
        ids = [message.pk for message in messages]
        self.report.configuration["simulator"] = provider.receipts(enabled=self.options.outbound_status_webhooks)
        sends_before = provider.sends_mark()
        rejected_before = provider.rejected_by_cap()
        self.write(f"[5/5] Outbound: {count:,} PENDING replies, each announced to the sending listener, until all are SENT "
                   f"({provider.outbound_words()})...")
        cpu_before = cpu_snapshot(self.processes.groups)
        started = time.time()
        # What the product does after each reply's commit (its message.created event): the
        # listener queues the channel's sender unless one is queued already.
        for message in messages:
            replies_send(MessageCreated(
                tenant_pk=tenant.pk, message_pk=message.pk, conversation_pk=conversation.pk, channel_pk=channel.pk,
                message_id=str(message.public_id), conversation_id=str(conversation.public_id),
                channel_id=str(channel.public_id), direction=Message.Direction.OUTBOUND, private=False))
        # By conversation and id range, not by the ids themselves: an IN of thousands of ids,
        # compiled and run ten times a second, cost this process and PostgreSQL a fifth of a core.
        pending = Message.all_objects.filter(conversation=conversation, pk__range=(ids[0], ids[-1]),
                                             status=Message.Status.PENDING)
        last_change, previous = time.monotonic(), -1
        while True:
            self.processes.check()
            left = pending.count()
            if left == 0:
                break
            if left != previous:
                previous, last_change = left, time.monotonic()
            if time.monotonic() - last_change > STALL_SECONDS:
                self.write(f"      stopped waiting: {left:,} still pending")
                break
            time.sleep(0.1)
        elapsed = time.time() - started
        report.outbound_cpu = cpu_used(cpu_before, cpu_snapshot(self.processes.groups), elapsed)
        sends = provider.sends_since(sends_before)
        provider_ids = set(Message.all_objects.filter(pk__in=ids, provider_message_id__isnull=False)
                           .values_list("provider_message_id", flat=True))
        report.outbound_total = count
        report.outbound_sent = len(provider_ids)
        report.outbound_failed = Message.all_objects.filter(pk__in=ids, status=Message.Status.FAILED).count()
        last_send = max((at for _id, at in sends), default=started)
        report.outbound_seconds = max(last_send - started, 1e-9)
        report.outbound_simulator_sends = len(sends)
        report.outbound_double_sends = len(sends) - len(provider_ids)
        rejected_after = provider.rejected_by_cap()
        report.outbound_rejected_cap = (None if rejected_after is None or rejected_before is None
                                        else rejected_after - rejected_before)
        self.write(f"      {report.outbound_sent:,} sent in {report.outbound_seconds:.1f}s; failed "
                   f"{report.outbound_failed}, double sends {report.outbound_double_sends}")

    def _settle(self) -> None:
        """Let the simulator's status webhooks land and the worker finish before anything stops."""
        assert self.data is not None
        self.provider.wait_for_webhooks(timeout=120)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and WebhookEvent.all_objects.filter(
                channel=self.data.channel, status=WebhookEvent.Status.RECEIVED).exists():
            time.sleep(0.5)


# --- The report -----------------------------------------------------------------------------------------


def _met(value: bool) -> str:
    return "yes" if value else "NO"


def render(report: Report) -> Iterator[str]:
    yield ""
    if report.provider != "WhatsApp Cloud":
        yield f"Provider: {report.provider}"
    yield "Machine"
    for key, value in report.machine.items():
        yield f"  {key:<12} {value}"
    yield "Configuration"
    for key, value in report.configuration.items():
        yield f"  {key:<12} {value}"
    yield ""
    bare = report.bare_view.per_second if report.bare_view else 0.0
    rows: list[tuple[str, str, str, str]] = []

    def share(value: float) -> str:
        return f" ({value / bare:.0%} of bare)" if bare else ""

    for result in (report.raw_asgi, report.bare_view):
        if result is not None:
            rows.append((f"{result.name} ({result.seconds:.0f}s)", f"{result.per_second:,.0f}/s; p50 "
                         f"{result.latency_ms(.5):.1f} / p95 {result.latency_ms(.95):.1f} / p99 "
                         f"{result.latency_ms(.99):.1f} ms; non-200: {result.not_ok}", "(ceiling)", ""))
    hooks = report.webhooks
    if hooks is not None:
        sustained = hooks.per_second
        met = _met(sustained >= 1000 and hooks.not_ok == 0)
        if hooks.seconds < 59.5:
            met += f" (but only {hooks.seconds:.0f} s)"
        rows.append((f"{report.proof} webhook POSTs accepted ({hooks.seconds:.0f}s)",
                     f"{sustained:,.0f}/s{share(sustained)}; 200: {hooks.ok:,}, non-200: {hooks.not_ok:,}",
                     ">= 1,000/s for 60 s", met))
        p99 = hooks.latency_ms(.99)
        rows.append(("  their latency", f"p50 {hooks.latency_ms(.5):.1f} / p95 {hooks.latency_ms(.95):.1f} / "
                     f"p99 {p99:.1f} ms", "p99 < 250 ms", _met(p99 < 250)))
        processed_rate = report.processed / report.processed_seconds if report.processed_seconds else 0.0
        rows.append(("Messages fully processed", f"{processed_rate:,.0f}/s{share(processed_rate)} ({report.processed:,}"
                     f" in {report.processed_seconds:.1f}s from the first POST)", "(none)", ""))
        rows.append(("Lost (accepted, never stored)", f"{report.lost}", "0", _met(report.lost == 0
                                                                               and report.processing_drained)))
        rows.append(("Duplicated (> 1 message per wamid)", f"{report.duplicated} (of "
                     f"{report.webhooks_posted_duplicates:,} duplicate POSTs)", "0", _met(report.duplicated == 0)))
        if report.processing_failed_events:
            rows.append(("Webhook events FAILED", str(report.processing_failed_events), "0", "NO"))
    if report.e2e_latencies or report.e2e_sent:
        lat = report.e2e_latencies
        p50, p95, p99 = (percentile(lat, share_) * 1000 for share_ in (.5, .95, .99))
        rows.append((f"Webhook -> WebSocket at {report.e2e_rate:g}/s ({report.e2e_sent:,} msgs)",
                     f"p50 {p50:.1f} / p95 {p95:.1f} / p99 {p99:.1f} ms; frames missing: {report.e2e_missing}",
                     "p50 < 50, p99 < 250 ms", _met(p50 < 50 and p99 < 250 and report.e2e_missing == 0)))
        if report.e2e_post is not None:
            post = report.e2e_post
            rows.append(("  the POSTs themselves", f"p50 {post.latency_ms(.5):.1f} / p99 {post.latency_ms(.99):.1f}"
                         f" ms; non-200: {post.not_ok}", "", ""))
    if report.outbound_total:
        rate = report.outbound_sent / report.outbound_seconds if report.outbound_seconds else 0.0
        capped = "" if report.outbound_rejected_cap is None else f"; 130429 {report.outbound_rejected_cap}"
        rows.append((f"Outbound sends ({report.outbound_total:,} replies)",
                     f"{rate:,.0f}/s{share(rate)} ({report.outbound_sent:,} in {report.outbound_seconds:.1f}s); "
                     f"FAILED {report.outbound_failed}{capped}",
                     ">= 200/s", _met(rate >= 200 and report.outbound_failed == 0)))
        rows.append(("  double sends (simulator sends - SENT)", f"{report.outbound_double_sends} "
                     f"({report.outbound_simulator_sends:,} sends accepted by the simulator)", "0",
                     _met(report.outbound_double_sends == 0)))
    widths = [max(len(row[i]) for row in [("Figure", "Result", "Target", "Met"), *rows]) for i in range(4)]
    line = "  ".join("-" * width for width in widths)
    yield "  ".join(title.ljust(width) for title, width in zip(("Figure", "Result", "Target", "Met"), widths,
                                                                strict=True))
    yield line
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
    for note in report.notes:
        yield f"Note: {note}."
    yield ""
    yield f"Where the CPU went (average cores in use; the machine has {os.cpu_count()})"
    phases = [(result.name, result.cpu, result.generator_cpu) for result in (report.raw_asgi, report.bare_view,
                                                                             report.webhooks, report.e2e_post)
              if result is not None]
    phases += [("processing drain", report.processing_cpu, None), ("outbound", report.outbound_cpu, None)]
    names = ["machine", "server", "worker", "postgresql", "redis", "load generator + simulator (this process)"]
    header = ["phase", "machine", "server", "worker", "postgres", "redis", "this process"]
    first = max(18, *(len(name) + 1 for name, _cpu, _generator in phases))
    yield "  " + "".join(f"{title:<{first}}" if i == 0 else f"{title:>13}" for i, title in enumerate(header))
    for name, cpu, _generator in phases:
        if cpu:
            yield "  " + f"{name:<{first}}" + "".join(f"{cpu.get(key, 0.0):>13.2f}" for key in names)


# --- The command line ----------------------------------------------------------------------------------


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _phases(value: str) -> frozenset[str]:
    phases = frozenset(part.strip() for part in value.split(",") if part.strip())
    if not phases or phases - PHASES:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(sorted(PHASES))}")
    return phases


def parser_create() -> argparse.ArgumentParser:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.whatsapp",
        description="Benchmark a WhatsApp pipeline (webhooks, processing, webhook-to-WebSocket latency, "
                    "outbound sends) against an ASGI server + Celery worker + PostgreSQL + Redis on this machine, "
                    "with the provider's simulator in this process.")
    parser.add_argument("--provider", choices=tuple(PROVIDERS), default="cloud",
                        help="Whose pipeline and simulator: cloud (WhatsApp Cloud, Graph API simulator; the "
                             "default), evolution (Evolution API simulator, webhooks with the channel's secret "
                             "header) or baileys (connection service simulator, X-Webhook-Signature HMAC). The "
                             "bench channel of evolution and baileys has no pause between sends and a high cap "
                             "(send_pacing_seconds [0, 0], throughput_per_second 1000), still one reply at a time "
                             "as every paced channel; production defaults pace their sends, and the report gives "
                             "the figures.")
    parser.add_argument("--duration", type=_positive, default=None,
                        help="Seconds of sustained webhook POSTs (default 60; --quick: 10).")
    parser.add_argument("--rate", type=_positive, default=100.0,
                        help="Messages per second of the webhook-to-WebSocket latency run (default 100).")
    parser.add_argument("--quick", action="store_true",
                        help="A short run: 10 s of webhooks, 200 end-to-end messages, 300 outbound replies.")
    parser.add_argument("--e2e-messages", type=int, default=None,
                        help="Messages of the latency run (default 1000; --quick: 200).")
    parser.add_argument("--outbound-messages", type=int, default=None,
                        help="Replies of the outbound run (default 2000; --quick: 300).")
    parser.add_argument("--connections", type=int, default=32,
                        help="Keep-alive connections of the load generator (default 32).")
    parser.add_argument("--baseline-seconds", type=_positive, default=None,
                        help="Seconds of each baseline (default: 15, or --duration when shorter).")
    parser.add_argument("--server", choices=("uvicorn", "daphne"), default="uvicorn",
                        help="ASGI server (default uvicorn; daphne runs one process only).")
    parser.add_argument("--server-workers", type=int, default=2 * cores,
                        help=f"ASGI worker processes (default 2 x cores = {2 * cores}).")
    parser.add_argument("--worker-pool", choices=("prefork", "threads"), default="prefork",
                        help="Celery pool (default prefork).")
    parser.add_argument("--worker-concurrency", type=int, default=2 * cores,
                        help=f"Celery worker concurrency (default 2 x cores = {2 * cores}).")
    parser.add_argument("--worker-nice", type=int, default=10,
                        help="CPU niceness of the Celery worker (default 10: on one shared machine, accepting "
                             "webhooks, which the provider times out, goes before processing stored ones; "
                             "0 runs it at the server's priority).")
    parser.add_argument("--server-conn-max-age", type=int, default=0,
                        help="DB_CONN_MAX_AGE of the ASGI server (default 0, a connection per request: under "
                             "ASGI each request runs in a thread of its own, so persistent connections leak).")
    parser.add_argument("--worker-conn-max-age", type=int, default=60,
                        help="DB_CONN_MAX_AGE of the Celery worker (default 60: its processes reuse them).")
    parser.add_argument("--no-status-webhooks", action="store_true",
                        help="Outbound run without the simulator's receipts after each send (cloud: sent, "
                             "delivered, read; evolution: DELIVERY_ACK, READ, its send.message echo staying; "
                             "baileys: DELIVERY_ACK, READ). Providers send them, so they are on by default.")
    parser.add_argument("--phases", type=_phases, default=",".join(sorted(PHASES)),
                        help="The phases to run, comma-separated (default all: baseline, webhooks, e2e, "
                             "outbound); the rest are left out of the report.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark tenant and its data.")
    parser.add_argument("--clean", action="store_true",
                        help="Only delete what earlier runs left behind (kept with --keep, or killed), then stop.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark as the options say; the process's exit status."""
    options = vars(parser_create().parse_args(argv))
    quick = options["quick"]
    duration = options["duration"] or (10.0 if quick else 60.0)
    run_options = Options(
        duration=duration, rate=options["rate"], quick=quick, connections=max(1, options["connections"]),
        e2e_messages=options["e2e_messages"] or (200 if quick else 1000),
        outbound_messages=options["outbound_messages"] or (300 if quick else 2000),
        baseline_seconds=options["baseline_seconds"] or min(15.0, duration), keep=options["keep"],
        outbound_status_webhooks=not options["no_status_webhooks"], phases=options["phases"],
        provider=options["provider"],
        shape=Shape(server=options["server"], server_workers=max(1, options["server_workers"]),
                    worker_pool=options["worker_pool"], worker_concurrency=max(1, options["worker_concurrency"]),
                    server_conn_max_age=max(0, options["server_conn_max_age"]),
                    worker_conn_max_age=max(0, options["worker_conn_max_age"]),
                    worker_nice=max(0, min(19, options["worker_nice"]))),
    )
    return command_run(
        lambda: render(Benchmark(run_options, write=say).run()), clean=options["clean"],
        database="postgres://postgres@127.0.0.1:5432/inbox_bench", redis="redis://127.0.0.1:6379/9",
        needs_worker=True, interrupted="Interrupted: the server and worker were stopped.")


if __name__ == "__main__":
    sys.exit(main())
