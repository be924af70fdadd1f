"""`python -m benchmarks.fanout`: what an API write costs while its web process also serves many
open WebSockets.

    python -m benchmarks.fanout [--sockets 0,500,1000] [--posts 200] [--pace frames|quiet] [--clean]

Run it from the repository root, with DATABASE_URL (PostgreSQL) and REDIS_URL, each a database of
its own, as for `benchmarks.whatsapp` (docs/benchmarks.md). It starts ONE uvicorn worker process
on `benchmarks.asgi:application` (so that every socket and every write meet in the same process)
and no Celery worker: the write is a private note, which goes to no provider, and whose
`message.created` event reaches every member of the tenant on its sockets.

Why it exists: after a write commits, its event is sent to the tenant's group on the channel layer.
When that send ran on the request's path it waited for the server's event loop, which also serves
every socket of the process, and a POST took longer the more sockets were open. So each socket
count is read against no socket at all, measured in the same run, process and tenant.

For each socket count, 0 first (the reference) and then in increasing order:

1. that many `/ws/v1/events` sockets are opened from this process (a JWT auth message, then the
   server's "ready": the socket is in the tenant's group);
2. `posts` notes are written one at a time (closed loop) with POST /api/v1/conversations/<id>/messages,
   each timed from the write of the request to its whole answer. The next write starts when every
   socket has the previous one's frame (or when none came for FRAME_QUIET_SECONDS), so that the
   fan-outs never pile up into a backlog that the run would measure instead. That is all with
   `--pace frames` (the default): the server may still be working for the sockets then (it used
   about 70 ms of CPU after the last of 1,000 frames when this was written; channels_redis has
   every consumer that forwarded a frame wait on the layer again), and the write meets that work
   as writes a fraction of a second apart do. `--pace quiet` also waits until the server process
   used no CPU for SERVER_QUIET_SECONDS: the write then meets its own fan-out only;
3. the frames are matched to their writes after the run, by message id (each POST carries an
   external_id naming it; no lookup during the run): frames delivered as a share of writes x
   sockets, and each frame's delay from the start of its POST;
4. the sockets are closed.

The HTTP client and every socket's reader share one asyncio loop in this process, on the same cores
as the server: a frame that arrives before a POST's answer is read first, and the CPU columns say
how busy this process was. Every wait is bounded.
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
import json  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks.asgi import RAW_ASGI_PATH  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    BASE_DIR,
    HOST,
    BenchData,
    BenchmarkError,
    EventsSocket,
    HttpConnection,
    Processes,
    Shape,
    bench_data_create,
    bench_data_delete,
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
from contacts.models import Contact, ContactIdentity  # noqa: E402
from conversations import realtime  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402

# Untimed notes at the start of each socket count: the connection, the token's first checks and the
# sockets' first frames are not what a write costs.
WARM_UP_WRITES = 10
# A write whose frames stopped coming for this long is given up on: the next one starts.
FRAME_QUIET_SECONDS = 2.0
# --pace quiet: the server is idle when it used no CPU (in clock ticks, 10 ms) for this long;
# a server that never is stops the wait after SERVER_QUIET_LIMIT_SECONDS.
SERVER_QUIET_SECONDS = 0.03
SERVER_QUIET_LIMIT_SECONDS = 2.0
PACES = ("frames", "quiet")
# Sockets opening at once (each one's auth reads the database in the server).
OPEN_CONCURRENCY = 50
SOCKET_READY_SECONDS = 30.0
# Closed sockets leave the tenant's group as the server handles their disconnect: this long
# before the next socket count, so that it sends to no socket of the one before.
SETTLE_SECONDS = 2.0
# File descriptors besides one per socket: the server's database and Redis connections, the
# interpreter's own files.
SPARE_FILES = 1024
# Far above what the run writes in a minute: it measures the write, not the API's rate limit.
RATE_LIMIT_LIFTED = 1_000_000


@dataclass
class Step:
    """What one socket count saw."""

    sockets: int
    open_seconds: float = 0.0
    seconds: float = 0.0  # the timed writes, their waits for frames included
    statuses: Counter[int] = field(default_factory=Counter)  # 0: connection error or timeout
    latencies: list[float] = field(default_factory=list)  # seconds, 201 answers only
    per_write: list[int] = field(default_factory=list)  # sockets that got each answered write's frame
    delays: list[float] = field(default_factory=list)  # seconds from the POST's start, every frame
    closed_early: int = 0  # sockets the server closed while the notes were written
    cpu: dict[str, float] = field(default_factory=dict)  # cores used on average, by process group

    def latency_ms(self, share: float) -> float:
        return percentile(sorted(self.latencies), share) * 1000

    def delay_ms(self, share: float) -> float:
        return percentile(sorted(self.delays), share) * 1000

    @property
    def not_created(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 201)

    @property
    def frames_expected(self) -> int:
        return len(self.per_write) * self.sockets

    @property
    def frames_delivered(self) -> int:
        return sum(self.per_write)


@dataclass
class Report:
    machine: dict[str, str] = field(default_factory=dict)
    configuration: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    sockets: tuple[int, ...]
    posts: int
    pace: str


class _Arrivals:
    """The `message.created` frames all the sockets of a socket count have received, and the
    wait of a write for its own."""

    def __init__(self) -> None:
        self.received = 0
        self.due = 0
        self._reached = asyncio.Event()

    def add(self) -> None:
        self.received += 1
        if self.received >= self.due:
            self._reached.set()

    def expect(self, frames: int) -> None:
        """Before a write: its frames are the next `frames` to arrive. A late frame of a write
        given up on counts for this one, which then waits for one frame less (not for ever)."""
        self.due = self.received + frames

    async def wait(self) -> None:
        """Until the due frames arrived, or none arrived for FRAME_QUIET_SECONDS."""
        last, quiet_since = self.received, time.monotonic()
        while self.received < self.due:
            self._reached.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reached.wait(), 0.25)
            if self.received != last:
                last, quiet_since = self.received, time.monotonic()
            elif time.monotonic() - quiet_since > FRAME_QUIET_SECONDS:
                return


class Benchmark:
    def __init__(self, options: Options, write: Callable[[str], None]) -> None:
        self.options = options
        self.write = write
        self.report = Report()
        self.run_id = f"{dt.datetime.now():%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
        self.log_dir = Path(tempfile.mkdtemp(prefix="benchmark_fanout-"))
        self.processes = Processes(self.log_dir)
        self.shape = Shape(server="uvicorn", server_workers=1, worker_pool="prefork", worker_concurrency=1,
                           server_conn_max_age=0, worker_conn_max_age=0)
        self.data: BenchData | None = None
        self.conversation: Conversation | None = None
        self.password = secrets.token_urlsafe(24)
        self.port = 0

    # --- lifecycle ---

    def run(self) -> Report:
        report = self.report
        report.machine = machine_facts()
        stale = stale_benchmark_tenants()
        if stale:
            self.write(f"note: benchmark tenants left by earlier runs (killed): {', '.join(stale[:5])} "
                       f"(--clean deletes them)")
        open_files = _open_files_allow(max(self.options.sockets))
        try:
            self._data_create()
            self._start()
            self._configuration(open_files)
            self._wait_ready()
            for number, sockets in enumerate(self.options.sockets, start=1):
                self.write(f"[{number}/{len(self.options.sockets)}] {sockets:,} sockets, {self.options.posts} notes...")
                step = self._step(sockets)
                report.steps.append(step)
                self.write(f"      sockets open in {step.open_seconds:.1f}s; POST p50 {step.latency_ms(.5):.1f} ms; "
                           f"frames {step.frames_delivered:,} of {step.frames_expected:,}; not 201: "
                           f"{step.not_created}")
        finally:
            # A second Ctrl-C must not cut the stopping of the server and the deletion short.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self._stop()
            finally:
                signal.signal(signal.SIGINT, previous)
        return report

    def _data_create(self) -> None:
        """The harness's tenant, MANAGER and channel (so that --clean finds what a killed run left),
        the MANAGER given a password for the API's login, and one conversation for the notes (a
        note goes to no provider: the channel's kind does not matter)."""
        self.data = bench_data_create(run_id=self.run_id, throughput=1000)
        user, tenant, channel = self.data.user, self.data.tenant, self.data.channel
        user.set_password(self.password)
        user.save(update_fields=["password"])
        contact = Contact.all_objects.create(tenant=tenant, name="Cliente fan-out", phone="+5511977700000")
        ContactIdentity.all_objects.create(tenant=tenant, contact=contact, channel=channel, external_id="5511977700000")
        self.conversation = Conversation.all_objects.create(tenant=tenant, channel=channel, contact=contact)

    def _start(self) -> None:
        self.port = free_port()
        argv, text = self.shape.server_argv(self.port)
        self.report.configuration["server"] = text
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DB_CONN_MAX_AGE": "0",
            "API_RATE_LIMIT_MESSAGES": str(RATE_LIMIT_LIFTED),
            "API_RATE_LIMIT_DEFAULT": str(RATE_LIMIT_LIFTED),
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore",
        })
        self.processes.start("server", argv, env)
        self.write(f"Started the server on {HOST}:{self.port} (log: {self.log_dir}).")

    def _stop(self) -> None:
        self.processes.stop()
        if self.data is not None:
            bench_data_delete(self.data)
            self.write(f"Deleted the benchmark data (tenant {self.data.tenant.slug}).")

    def _configuration(self, open_files: str) -> None:
        background = hasattr(realtime, "use_background_sender")
        self.report.configuration.update({
            "settings": f"{settings.SETTINGS_MODULE}, DEBUG false, LOG_LEVEL WARNING, DB_CONN_MAX_AGE 0; API rate "
                        f"limits (messages, default) lifted to {RATE_LIMIT_LIFTED:,}/min",
            "code": f"{_code_version()}; web processes send real-time events "
                    + ("from a sender loop of their own (use_background_sender)" if background
                       else "on the request's path"),
            "write": f"a private note, POST /api/v1/conversations/<id>/messages with a JWT (/api/v1/auth/token), "
                     f"one at a time; {self.options.posts} timed per socket count after {WARM_UP_WRITES} untimed",
            "sockets": f"/ws/v1/events (JWT auth message), opened {OPEN_CONCURRENCY} at a time, read in this "
                       f"process's asyncio loop with the HTTP client",
            "pacing": f"--pace {self.options.pace}: the next write starts when every socket has the frame of the "
                      f"one before (or after {FRAME_QUIET_SECONDS:g}s without a frame)"
                      + (f" and the server used no CPU for {SERVER_QUIET_SECONDS * 1000:.0f} ms"
                         if self.options.pace == "quiet" else ""),
            "client": "(no socket opened)",
            "open files": f"{open_files} (this process and the server)",
            "database": f"{connection.settings_dict['NAME']} on {connection.settings_dict.get('HOST') or 'local'}",
            "redis": settings.REDIS_URL,
        })

    def _wait_ready(self) -> None:
        async def ask() -> int:
            http = HttpConnection(self.port)
            status = await http.request(http_request(RAW_ASGI_PATH, b"{}"), timeout=2)
            http.close()
            return status

        deadline = time.monotonic() + 90
        while asyncio.run(ask()) != 200:
            self.processes.check()
            if time.monotonic() > deadline:
                raise BenchmarkError(f"The server did not answer in 90s:\n{self.processes.log_tail('server')}")
            time.sleep(0.2)

    def _token(self) -> str:
        """An access token from the API's login, fresh for each socket count (one lives 5 minutes)."""
        assert self.data is not None
        body = json.dumps({"email": self.data.user.email, "password": self.password}).encode()
        request = urllib.request.Request(f"http://{HOST}:{self.port}/api/v1/auth/token", data=body,
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, whatever HTTP_PROXY says
        try:
            with opener.open(request, timeout=30) as response:
                return str(json.loads(response.read())["access"])
        except urllib.error.HTTPError as error:
            raise BenchmarkError(f"The login answered {error.code}: {error.read()[:300]!r}") from error

    # --- one socket count ---

    def _step(self, sockets: int) -> Step:
        self.processes.check()
        step = Step(sockets=sockets)
        prefix = f"fanout-{self.run_id}-{sockets}-"
        frames, starts = asyncio.run(self._sockets_and_writes(step, self._token(), prefix))
        self.processes.check()
        self._match(step, frames, starts, prefix)
        time.sleep(SETTLE_SECONDS)
        return step

    async def _sockets_and_writes(self, step: Step, token: str,
                                  prefix: str) -> tuple[list[list[tuple[str, float]]], dict[int, float]]:
        """Opens the sockets, writes the notes, closes the sockets. Returns each socket's
        `message.created` frames (message id, arrival) and each answered write's start."""
        assert self.conversation is not None
        opened_at = time.monotonic()
        sockets = await self._open(step.sockets, token)
        step.open_seconds = time.monotonic() - opened_at
        if sockets:
            self.report.configuration["client"] = sockets[0].implementation
        arrivals = _Arrivals()
        frames: list[list[tuple[str, float]]] = [[] for _ in sockets]
        readers = [asyncio.create_task(_read(socket, mine, arrivals))
                   for socket, mine in zip(sockets, frames, strict=True)]
        http = HttpConnection(self.port)
        path = f"/api/v1/conversations/{self.conversation.public_id}/messages"
        headers = {"Authorization": f"Bearer {token}"}

        async def note(external_id: str) -> tuple[int, float, float]:
            body = json.dumps({"content": f"Nota {external_id}", "private": True, "external_id": external_id})
            raw = http_request(path, body.encode(), headers)
            arrivals.expect(len(sockets))
            started = time.perf_counter()
            status = await http.request(raw)
            elapsed = time.perf_counter() - started
            if status == 201:
                await arrivals.wait()
            if self.options.pace == "quiet":
                await self._server_quiet()
            return status, started, elapsed

        starts: dict[int, float] = {}
        try:
            for index in range(WARM_UP_WRITES):
                await note(f"fanout-{self.run_id}-warm-{step.sockets}-{index}")
            groups = self.processes.groups
            cpu_before, wall_before = cpu_snapshot(groups), time.monotonic()
            for index in range(self.options.posts):
                status, started, elapsed = await note(f"{prefix}{index}")
                step.statuses[status] += 1
                if status == 201:
                    step.latencies.append(elapsed)
                    starts[index] = started
            step.seconds = time.monotonic() - wall_before
            step.cpu = cpu_used(cpu_before, cpu_snapshot(groups), step.seconds)
            step.closed_early = sum(1 for reader in readers if reader.done())
        finally:
            http.close()
            await asyncio.gather(*(socket.close() for socket in sockets))
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
        return frames, starts

    async def _server_quiet(self) -> None:
        """Until the server process used no CPU for SERVER_QUIET_SECONDS (its own clock ticks,
        all threads), or SERVER_QUIET_LIMIT_SECONDS passed."""
        stat = Path(f"/proc/{self.processes.groups['server']}/stat")

        def ticks() -> int:
            raw = stat.read_text()
            utime, stime = raw[raw.rindex(")") + 2:].split()[11:13]
            return int(utime) + int(stime)

        last, since = ticks(), time.monotonic()
        deadline = since + SERVER_QUIET_LIMIT_SECONDS
        while time.monotonic() - since < SERVER_QUIET_SECONDS and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
            now = ticks()
            if now != last:
                last, since = now, time.monotonic()

    async def _open(self, count: int, token: str) -> list[EventsSocket]:
        """`count` sockets, each in the tenant's group (the server said "ready"); all or none."""
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def one() -> EventsSocket:
            socket = EventsSocket(self.port)
            async with gate:
                try:
                    await socket.connect()
                    await socket.send_json({"type": "auth", "token": token})
                    frame = await asyncio.wait_for(socket.receive_json(), SOCKET_READY_SECONDS)
                except Exception:
                    await socket.close()
                    raise
            if frame is None or frame.get("type") != "ready":
                await socket.close()
                raise BenchmarkError(f"not let in: {frame or socket.closed_reason}")
            return socket

        results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
        opened = [result for result in results if isinstance(result, EventsSocket)]
        failed = [result for result in results if not isinstance(result, EventsSocket)]
        if failed:
            await asyncio.gather(*(socket.close() for socket in opened))
            raise BenchmarkError(f"{len(failed)} of {count} sockets did not open, e.g. {failed[0]!r}\n"
                                 f"server log:\n{self.processes.log_tail('server')}")
        return opened

    def _match(self, step: Step, frames: list[list[tuple[str, float]]], starts: dict[int, float],
               prefix: str) -> None:
        """Frames to writes by message id; the warm-up's frames match none."""
        index_of = {str(public_id): int(external_id.removeprefix(prefix)) for public_id, external_id in
                    Message.all_objects.filter(conversation=self.conversation, external_id__startswith=prefix)
                    .values_list("public_id", "external_id")}
        per_write: Counter[int] = Counter()
        for received in frames:
            seen: set[int] = set()
            for message_id, arrived in received:
                index = index_of.get(message_id)
                if index is None or index not in starts or index in seen:
                    continue
                seen.add(index)
                per_write[index] += 1
                step.delays.append(arrived - starts[index])
        step.per_write = [per_write[index] for index in sorted(starts)]


async def _read(socket: EventsSocket, frames: list[tuple[str, float]], arrivals: _Arrivals) -> None:
    """One socket's `message.created` frames as they arrive, until it closes."""
    while (frame := await socket.receive_json()) is not None:
        if frame.get("name") == "message.created":
            frames.append((frame["data"]["message_id"], time.perf_counter()))
            arrivals.add()


def _open_files_allow(sockets: int) -> str:
    """Room for `sockets` connections at each end: this process and the server, which inherits
    the limit. Returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = sockets + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchmarkError(f"{sockets:,} sockets need {needed:,} open files; the hard limit is {hard:,} "
                                 f"(raise it with `ulimit -Hn`, as root)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        soft = needed
    return "unlimited" if soft == resource.RLIM_INFINITY else f"{soft:,}"


def _code_version() -> str:
    """The commit measured, and whether tracked files differ from it (the run measures those)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(BASE_DIR), *args], capture_output=True, text=True,
                              check=False).stdout.strip()

    changed = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
    commit = git("rev-parse", "--short", "HEAD") or "?"
    return f"commit {commit}" + (f" (+ uncommitted changes to {changed} tracked files)" if changed else "")


# --- The report -----------------------------------------------------------------------------------------


def render(report: Report) -> Iterator[str]:
    yield ""
    yield "Machine"
    for key, value in report.machine.items():
        yield f"  {key:<12} {value}"
    yield "Configuration"
    for key, value in report.configuration.items():
        yield f"  {key:<12} {value}"
    yield ""
    reference = next((step.latency_ms(.5) for step in report.steps if step.sockets == 0), float("nan"))
    titles = ("Sockets", "POST p50 / p95 / p99 ms", "p50 / 0-socket p50", "Not 201", "Frames delivered",
              "Writes with every frame", "Frame delay p50 / p99 ms", "Cores: server / this process / redis / pg")
    rows = []
    for step in report.steps:
        delivered = (f"{step.frames_delivered / step.frames_expected:.2%} ({step.frames_delivered:,})"
                     if step.frames_expected else "-")
        every = sum(1 for count in step.per_write if count == step.sockets)
        rows.append((
            f"{step.sockets:,}",
            f"{step.latency_ms(.5):.1f} / {step.latency_ms(.95):.1f} / {step.latency_ms(.99):.1f}",
            f"{step.latency_ms(.5) / reference:.2f}x",
            str(step.not_created),
            delivered,
            f"{every} of {len(step.per_write)}" if step.sockets else "-",
            f"{step.delay_ms(.5):.1f} / {step.delay_ms(.99):.1f}" if step.delays else "-",
            " / ".join(f"{step.cpu.get(name, 0.0):.2f}" for name in
                       ("server", "load generator + simulator (this process)", "redis", "postgresql")),
        ))
    widths = [max(len(row[i]) for row in [titles, *rows]) for i in range(len(titles))]
    yield "  ".join(title.ljust(width) for title, width in zip(titles, widths, strict=True))
    yield "  ".join("-" * width for width in widths)
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
    for step in report.steps:
        if step.closed_early:
            yield f"note: {step.closed_early} of {step.sockets:,} sockets were closed by the server during the writes"
    yield ""
    yield ("POST: from the write of the request to its whole answer. Frame delay: from the start of the POST to the "
           "frame's arrival at its socket, every frame of every timed write. Cores: average in use while the "
           "notes were written.")


# --- The command line ----------------------------------------------------------------------------------


def _socket_counts(value: str) -> tuple[int, ...]:
    """Comma-separated counts; 0 (the reference) is always measured, first."""
    try:
        counts = {int(part) for part in value.split(",") if part.strip()}
    except ValueError as error:
        raise argparse.ArgumentTypeError("comma-separated whole numbers, e.g. 0,500,1000") from error
    if any(count < 0 for count in counts):
        raise argparse.ArgumentTypeError("socket counts cannot be negative")
    return tuple(sorted(counts | {0}))


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


def parser_create() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fanout",
        description="Time API writes (private notes) while one uvicorn worker process also serves N open "
                    "/ws/v1/events sockets that each receive every write's frame, against N = 0 in the same run.")
    parser.add_argument("--sockets", type=_socket_counts, default=_socket_counts("0,500,1000"),
                        help="Socket counts, comma-separated (default 0,500,1000; 0 is always measured first).")
    parser.add_argument("--posts", type=_positive_int, default=200,
                        help="Timed writes per socket count, one at a time (default 200).")
    parser.add_argument("--pace", choices=PACES, default="frames",
                        help="When the next write starts: when every socket has the previous one's frame "
                             "(frames, the default), or also once the server process is idle (quiet).")
    parser.add_argument("--clean", action="store_true",
                        help="Only delete what killed runs left behind, then stop.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark as the options say; the process's exit status."""
    options = vars(parser_create().parse_args(argv))
    run_options = Options(sockets=options["sockets"], posts=options["posts"], pace=options["pace"])
    return command_run(
        lambda: render(Benchmark(run_options, write=say).run()), clean=options["clean"],
        database="postgres://postgres@127.0.0.1:5432/inbox_fanout",
        redis="redis://127.0.0.1:6379/8: the channel layer of the sockets", needs_worker=False,
        interrupted="Interrupted: the server was stopped and the data deleted.")


if __name__ == "__main__":
    sys.exit(main())
