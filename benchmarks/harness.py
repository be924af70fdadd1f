"""What a load benchmark of the inbox needs, whatever it measures: the server and worker
processes it starts (`Processes`, `Shape`), a keep-alive HTTP/1.1 load generator (`HttpConnection`,
`closed_loop`), the integrator's WebSocket (`EventsSocket`), CPU accounting by process group,
the facts of the machine, and a tenant of its own (`bench_data_create`) deleted afterwards, even
after a killed run (`stale_benchmark_tenants_delete`).

It imports the product's models: import it after `django.setup()` (benchmarks.whatsapp does that
first). Linux only (CPU figures come from /proc).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from accounts.models import Membership, Role, User
from channels_app.models import Channel
from config.crypto import Secrets
from contacts.models import Contact, ContactIdentity
from conversations.models import Conversation, Message, ReportConversation, ReportHour
from integrations.models import WebhookEvent
from integrations.whatsapp_cloud.adapter import WhatsAppCloudAdapter
from tenants.models import Tenant, TenantEvent

BASE_DIR = Path(settings.BASE_DIR)
HOST = "127.0.0.1"


class BenchmarkError(Exception):
    """The benchmark cannot run (missing service, a process that died...): said plainly."""


# --- Figures -----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(share * len(sorted_values)) - 1))
    return sorted_values[index]


@dataclass
class LoadResult:
    """What one closed-loop or paced load run saw."""

    name: str
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)  # 0: connection error or timeout
    latencies: list[float] = field(default_factory=list)  # seconds, 200s only
    generator_cpu: float = 0.0  # share of one core this process used meanwhile
    cpu: dict[str, float] = field(default_factory=dict)  # cores used on average, by process group

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def not_ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 200)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def latency_ms(self, share: float) -> float:
        return percentile(sorted(self.latencies), share) * 1000


# --- CPU accounting (Linux /proc) -----------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_ticks() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def cpu_snapshot(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far, by process group (`groups`: name → process group id), by
    PostgreSQL and Redis (by process name), by this process, and by the whole machine.
    Children already reaped count through their parent's cutime/cstime."""
    by_pgid = {pgid: name for name, pgid in groups.items()}
    totals: dict[str, float] = Counter()
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        pgrp = int(fields[2])
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        pid = int(entry.name)
        if pid == me:
            name = "load generator + simulator (this process)"
            ticks = sum(int(value) for value in fields[11:13])
        elif pgrp in by_pgid:
            name = by_pgid[pgrp]
        elif comm.startswith("postgres"):
            name = "postgresql"
        elif comm.startswith("redis-server"):
            name = "redis"
        else:
            continue
        totals[name] += ticks / _TICKS
    busy, _total = _machine_busy_ticks()
    totals["machine"] = busy / _TICKS
    return dict(totals)


def cpu_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Average cores used by each group between two snapshots."""
    if seconds <= 0:
        return {}
    return {name: max(0.0, (after.get(name, 0.0) - before.get(name, 0.0)) / seconds) for name in after}


# --- HTTP/1.1 keep-alive client (asyncio streams) ---------------------------------------------------


class HttpConnection:
    """One keep-alive connection; one request at a time. Small on purpose: the generator must
    cost far less than the server it measures (see the raw ASGI baseline)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes, timeout: float = 30.0) -> int:
        """Send `raw` (a whole HTTP request) and read the answer; the status, or 0 on failure."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            assert self.reader is not None
            self.writer.write(raw)
            status, server_closes = await asyncio.wait_for(self._response(self.reader), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError):
            self.close()
            return 0
        if server_closes:
            self.close()
        return status

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await reader.readexactly(length)
        return status, close

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def http_request(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}", "Content-Type: application/json",
             f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- Load runs -------------------------------------------------------------------------------------


async def closed_loop(*, name: str, port: int, seconds: float, connections: int,
                      next_request: Callable[[], tuple[bytes, str | None]],
                      on_answer: Callable[[str | None, int], None] | None = None,
                      groups: dict[str, int] | None = None) -> LoadResult:
    """`connections` clients, each sending its next request as soon as the previous one is
    answered, for `seconds`. Latency: from the write of the request to its whole answer."""
    result = LoadResult(name=name)
    deadline = time.monotonic() + seconds
    latencies, statuses = result.latencies, result.statuses

    async def client() -> None:
        http = HttpConnection(port)
        while time.monotonic() < deadline:
            raw, tag = next_request()
            started = time.perf_counter()
            status = await http.request(raw)
            elapsed = time.perf_counter() - started
            statuses[status] += 1
            if status == 200:
                latencies.append(elapsed)
            if on_answer is not None:
                on_answer(tag, status)
            if status == 0:
                await asyncio.sleep(0.05)
        http.close()

    cpu_before, wall_before, mine_before = cpu_snapshot(groups or {}), time.monotonic(), time.process_time()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.monotonic() - wall_before
    result.generator_cpu = (time.process_time() - mine_before) / result.seconds
    result.cpu = cpu_used(cpu_before, cpu_snapshot(groups or {}), result.seconds)
    return result


# --- WebSocket client for /ws/v1/events ------------------------------------------------------------


class EventsSocket:
    """The integrator's socket: JSON frames in, JSON frames out. Uses the `websockets` package
    when it is installed, otherwise a minimal RFC 6455 client (text frames, ping, close)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._ws: Any = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.closed_reason = ""

    @property
    def implementation(self) -> str:
        return "websockets" if self._ws is not None else "minimal RFC 6455 client"

    async def connect(self) -> None:
        url = f"ws://{HOST}:{self.port}/ws/v1/events"
        try:
            from websockets.asyncio.client import connect
        except ImportError:
            connect = None
        if connect is not None:
            self._ws = await connect(url, max_size=None, open_timeout=10, compression=None)
            return
        self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self._writer.write((f"GET /ws/v1/events HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nUpgrade: websocket\r\n"
                            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                           .encode())
        head = await asyncio.wait_for(self._reader.readuntil(b"\r\n\r\n"), 10)
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        if " 101 " not in status_line:
            raise BenchmarkError(f"WebSocket upgrade refused: {status_line}")

    async def send_json(self, data: dict[str, Any]) -> None:
        text = json.dumps(data)
        if self._ws is not None:
            await self._ws.send(text)
            return
        await self._send_frame(0x1, text.encode())

    async def _send_frame(self, opcode: int, payload: bytes) -> None:
        assert self._writer is not None
        mask = secrets.token_bytes(4)
        length = len(payload)
        if length < 126:
            header = bytes([0x80 | opcode, 0x80 | length])
        elif length < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self._writer.write(header + mask + masked)
        await self._writer.drain()

    async def receive_json(self) -> dict[str, Any] | None:
        """The next JSON frame, or None when the socket closed."""
        if self._ws is not None:
            try:
                return json.loads(await self._ws.recv())
            except Exception as error:  # closed (websockets raises ConnectionClosed*)
                self.closed_reason = repr(error)[:200]
                return None
        assert self._reader is not None
        message = b""
        while True:
            try:
                first, second = await self._reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    length = int.from_bytes(await self._reader.readexactly(2), "big")
                elif length == 127:
                    length = int.from_bytes(await self._reader.readexactly(8), "big")
                payload = await self._reader.readexactly(length)
            except (asyncio.IncompleteReadError, OSError) as error:
                self.closed_reason = repr(error)[:200]
                return None
            opcode = first & 0x0F
            if opcode == 0x8:
                self.closed_reason = f"close frame {payload[:2].hex()} {payload[2:100]!r}"
                return None
            if opcode == 0x9:
                await self._send_frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return json.loads(message)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._ws is not None:
                await self._ws.close()
            elif self._writer is not None:
                await self._send_frame(0x8, b"\x03\xe8")
                self._writer.close()


# --- Processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Processes:
    """The server and the worker: each in its own session (process group), so that stopping
    one stops all its children; stopped on exit whatever happened."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.started.append((name, process))
        return process

    @property
    def groups(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.started}

    def check(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                raise BenchmarkError(f"The {name} process exited with {process.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 25) -> str:
        try:
            return "\n".join((self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        for _, process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for _, process in self.started:
            with contextlib.suppress(ProcessLookupError):  # the group, children included
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.started.clear()


@dataclass(frozen=True)
class Shape:
    """How the production shape is run here."""

    server: str
    server_workers: int
    worker_pool: str
    worker_concurrency: int
    server_conn_max_age: int
    worker_conn_max_age: int
    worker_nice: int = 0

    def server_argv(self, port: int) -> tuple[list[str], str]:
        module = "benchmarks.asgi:application"
        if self.server == "daphne":
            return ([sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "0", module],
                    f"daphne {_version('daphne')}, 1 process (daphne has no worker processes)")
        loop = "uvloop" if _importable("uvloop") else "asyncio"
        http = "httptools" if _importable("httptools") else "h11"
        ws = "websockets" if _importable("websockets") else "wsproto" if _importable("wsproto") else "none"
        argv = [sys.executable, "-m", "uvicorn", module, "--host", HOST, "--port", str(port), "--workers",
                str(self.server_workers), "--loop", loop, "--http", http, "--ws", ws, "--lifespan", "off",
                "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "30",
                # as the README runs it: X-Forwarded-For from our own proxies only, none by default
                "--forwarded-allow-ips", os.environ.get("TRUSTED_PROXIES", "")]
        return argv, (f"uvicorn {_version('uvicorn')}, {self.server_workers} worker processes, loop {loop}, "
                      f"http {http}, ws {ws}")

    def worker_argv(self, run_id: str) -> tuple[list[str], str]:
        niced = ["nice", "-n", str(self.worker_nice)] if self.worker_nice else []
        argv = [*niced, sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", self.worker_pool,
                "--concurrency", str(self.worker_concurrency), "-Q", "celery,webhooks", "--loglevel", "WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"benchmark-{run_id}@%h"]
        return argv, (f"celery {_version('celery')} worker, pool {self.worker_pool}, concurrency "
                      f"{self.worker_concurrency}, prefetch multiplier {settings.CELERY_WORKER_PREFETCH_MULTIPLIER}"
                      f"{f', nice {self.worker_nice}' if self.worker_nice else ''}")


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


# --- Benchmark data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchNumber:
    phone_number_id: str
    waba_id: str
    display_phone_number: str
    token: str
    app_secret: str
    verify_token: str


@dataclass
class BenchData:
    run_id: str
    tenant: Tenant
    user: User
    channel: Channel
    number: BenchNumber | None  # the Graph API simulator's number of a WhatsApp Cloud channel


def bench_data_create(*, run_id: str, throughput: int,
                      channel_create: Callable[[Tenant], Channel] | None = None) -> BenchData:
    """A tenant of its own, a MANAGER for the integrator socket and a WhatsApp Cloud channel whose
    credentials match a simulator number. Rows made directly: channel_create would ask Meta.
    With `channel_create`, the tenant's channel is the one it makes instead (another provider's,
    benchmarks.providers), and there is no number."""
    if channel_create is not None:
        tenant, user = _bench_tenant_create(run_id)
        return BenchData(run_id=run_id, tenant=tenant, user=user, channel=channel_create(tenant), number=None)
    digits = f"{random.randrange(10**8):08d}"
    number = BenchNumber(phone_number_id=f"1999{digits}000", waba_id=f"1998{digits}000",
                         display_phone_number="+15555550199", token=f"BENCH-TOKEN-{secrets.token_hex(8)}",
                         app_secret=secrets.token_hex(16), verify_token=secrets.token_hex(8))
    tenant, user = _bench_tenant_create(run_id)
    channel = Channel.all_objects.create(
        tenant=tenant, kind=WhatsAppCloudAdapter.kind, name="Benchmark WhatsApp", status=Channel.Status.CONNECTED,
        config={"phone_number_id": number.phone_number_id, "waba_id": number.waba_id,
                "display_phone_number": number.display_phone_number, "throughput_per_second": throughput},
        credentials=Secrets({"access_token": number.token, "app_secret": number.app_secret,
                             "verify_token": number.verify_token}),
    )
    return BenchData(run_id=run_id, tenant=tenant, user=user, channel=channel, number=number)


def _bench_tenant_create(run_id: str) -> tuple[Tenant, User]:
    tenant = Tenant.objects.create(
        name=f"Benchmark WhatsApp {run_id}", slug=f"benchmark-whatsapp-{run_id}", status=Tenant.Status.ACTIVE,
        plan="benchmark", max_channels=0, max_agents=0, max_messages_per_month=0,
    )
    user = User.objects.create_user(email=f"benchmark-{run_id}@benchmark.invalid", password=None,
                                    full_name="Benchmark integrator")
    Membership.all_objects.create(tenant=tenant, user=user, role=Role.MANAGER)
    return tenant, user


def bench_data_delete(data: BenchData) -> None:
    """Everything the run made, children first (conversations and messages protect their channel)."""
    tenant_id = data.tenant.pk
    Message.all_objects.filter(tenant_id=tenant_id).update(reply_to=None)
    for model in (ReportConversation, ReportHour, Message, Conversation, ContactIdentity, Contact, WebhookEvent,
                  TenantEvent):
        model.all_objects.filter(tenant_id=tenant_id)._raw_delete(connection.alias)  # type: ignore[attr-defined]
    Tenant.objects.filter(pk=tenant_id).delete()
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    if data.user is not None:
        OutstandingToken.objects.filter(user=data.user).delete()
        User.objects.filter(pk=data.user.pk).delete()


def stale_benchmark_tenants() -> list[str]:
    return list(Tenant.objects.filter(slug__startswith="benchmark-whatsapp-").values_list("slug", flat=True))


def stale_benchmark_tenants_delete() -> list[str]:
    """Delete what runs left behind (kept with --keep, or killed): their tenants, data and users."""
    deleted = []
    for tenant in Tenant.objects.filter(slug__startswith="benchmark-whatsapp-"):
        membership = Membership.all_objects.select_related("user").filter(
            tenant=tenant, user__email__endswith="@benchmark.invalid").first()
        bench_data_delete(BenchData(run_id="", tenant=tenant, user=membership.user if membership else None,
                                    channel=None, number=None))  # type: ignore[arg-type]
        deleted.append(tenant.slug)
    return deleted


# --- Facts -------------------------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SHOW max_connections")
        max_connections = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    import redis

    redis_info = redis.Redis.from_url(settings.REDIS_URL).info("server")
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    memory = ""
    with contextlib.suppress(OSError, StopIteration), open("/proc/meminfo") as meminfo:
        kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    return {
        "cores": f"{os.cpu_count()} ({model})" if model else str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": _version("django"),
        "postgresql": f"{postgres} (max_connections {max_connections}, synchronous_commit {synchronous_commit})",
        "redis": str(redis_info.get("redis_version", "?")),
    }



# --- the commands' shared run ----------------------------------------------------------------

def say(line: str) -> None:
    print(line, flush=True)  # progress shows as it happens, also when the output is piped


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def command_run(run: Callable[[], list[str]], *, clean: bool, database: str, redis: str, needs_worker: bool,
                interrupted: str) -> int:
    """A benchmark command's run, in the production shape only (PostgreSQL at DATABASE_URL, e.g.
    `database`; Redis at REDIS_URL, e.g. `redis`, with Celery not eager when it `needs_worker`):
    `clean` deletes what killed runs left behind; otherwise `run()` measures (SIGTERM stops it
    as Ctrl-C does, saying `interrupted`) and its report's lines are printed. The exit status."""
    if connection.vendor != "postgresql" or not os.environ.get("DATABASE_URL"):
        return _fail("The benchmark runs in the production shape: set DATABASE_URL to a PostgreSQL "
                     f"database of its own (e.g. {database}, migrated first with `manage.py migrate`).")
    if not settings.REDIS_URL or (needs_worker and settings.CELERY_TASK_ALWAYS_EAGER):
        return _fail("The benchmark runs in the production shape: set REDIS_URL to a Redis database "
                     f"of its own (e.g. {redis})" + (", with Celery not eager." if needs_worker else "."))
    if clean:
        deleted = stale_benchmark_tenants_delete()
        say(f"Deleted {len(deleted)} benchmark tenant(s){': ' if deleted else '.'}{', '.join(deleted)}")
        return 0
    settings.DEBUG = False  # no query log growing in this process
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        lines = run()
    except BenchmarkError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail(interrupted)
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in lines:
        say(line)
    return 0
