"""`python -m benchmarks.faults`: recovery under faults, measured in the production shape.

    python -m benchmarks.faults [--duration 240] [--rate 200] [--reply-rate 20] [--interval 12]
        [--faults server,worker,redis] [--redis-persistence none|aof] [--server-workers N]
        [--worker-concurrency N] [--connections 16] [--keep]

An operator's bad day, on this machine and over loopback only, bounded and stopping by itself:
signed WhatsApp webhooks arrive at `rate` per second (open loop: a provider does not wait for
us; an answer other than 200 is posted again a second later, as providers retry) and agents'
replies are written at `reply-rate` per second through the product's own service, while every
`interval` seconds one part is killed with SIGKILL, in turn, and restarted at once: a worker
process of the ASGI server (uvicorn starts another), the Celery worker (the whole worker,
its pool included; a new one is started), and Redis (broker, cache and leases; it keeps nothing
on disk unless `--redis-persistence aof`). No Celery beat runs: the sweep is a backstop, and
this run shows the pipelines recover without it.

It needs DATABASE_URL (PostgreSQL, a database of its own, migrated). It runs a Redis server of
its own (redis-server on a free port), so that killing it disturbs nothing else. At the end it
waits for the work to drain and reports: webhooks accepted, lost (accepted, never stored) and
duplicated; replies written, sent, failed as "delivery unknown" (their sender died mid-send),
sent twice; and for every fault, how long after the part was back the work that was waiting
when it came back took to be done (the target: 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_RECOVERY_SECONDS = 30.0
FAULT_KINDS = ("server", "worker", "redis")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of the run's own, on loopback, killed and restarted on the same port."""

    def __init__(self, *, persistence: str, directory: Path) -> None:
        self.port = _free_port()
        self.persistence = persistence
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
        aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistence == "aof" else [
            "--appendonly", "no"]
        self.process = subprocess.Popen(
            [redis_server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *aof,
             "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                raise SystemExit("the run's redis-server did not start")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


@dataclass
class Fault:
    kind: str
    killed_at: float  # time.time()
    back_at: float = 0.0
    detail: str = ""
    recovery_inbound: float | None = None
    recovery_outbound: float | None = None


@dataclass
class Outcome:
    options: dict[str, Any]
    faults: list[Fault] = field(default_factory=list)
    posted: int = 0
    accepted: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    reposted: int = 0
    lost: int = 0
    duplicated: int = 0
    still_waiting: int = 0
    replies: int = 0
    replies_sent: int = 0
    replies_unknown: int = 0
    replies_unknown_never_received: int = 0
    replies_failed_other: int = 0
    replies_pending: int = 0
    simulator_sends: int = 0
    double_sends: int = 0
    drain_seconds: float = 0.0
    started_at: float = 0.0
    machine: dict[str, str] = field(default_factory=dict)


def parser_create() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__.split("\n\n")[1])
    parser.add_argument("--duration", type=float, default=240.0, help="Seconds of load and faults (default 240).")
    parser.add_argument("--rate", type=float, default=200.0, help="Signed webhooks per second (default 200).")
    parser.add_argument("--reply-rate", type=float, default=20.0, help="Replies written per second (default 20).")
    parser.add_argument("--interval", type=float, default=12.0, help="Seconds between faults (default 12).")
    parser.add_argument("--faults", default=",".join(FAULT_KINDS),
                        help="The parts killed in turn, comma-separated (default server,worker,redis).")
    parser.add_argument("--redis-persistence", choices=("none", "aof"), default="none",
                        help="What the run's Redis keeps on disk (default none: the hard case).")
    parser.add_argument("--server-workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--worker-concurrency", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--connections", type=int, default=16, help="Keep-alive connections of the load (16).")
    parser.add_argument("--drain-timeout", type=float, default=180.0,
                        help="Seconds to wait, after the load, for the work to drain (default 180).")
    parser.add_argument("--keep", action="store_true", help="Keep the run's tenant and its data.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = vars(parser_create().parse_args(argv))
    kinds = [kind.strip() for kind in options["faults"].split(",") if kind.strip()]
    if not kinds or set(kinds) - set(FAULT_KINDS):
        print(f"--faults: choose among {', '.join(FAULT_KINDS)}", file=sys.stderr)
        return 2
    options["faults"] = kinds
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("The fault run needs DATABASE_URL: a PostgreSQL database of its own, migrated.", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="benchmark_faults-"))
    redis = RedisServer(persistence=options["redis_persistence"], directory=directory)
    redis.start()
    # This process is a web process too (it writes the replies): the same Redis as the others.
    os.environ.update({"REDIS_URL": redis.url, "CELERY_TASK_ALWAYS_EAGER": "false"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    try:
        run = FaultRun(options, redis=redis, directory=directory)
        outcome = run.run()
    except KeyboardInterrupt:
        print("Interrupted: the processes it started were stopped.", file=sys.stderr)
        return 1
    finally:
        redis.stop()
    for line in render(outcome):
        print(line, flush=True)
    return 0


class FaultRun:
    def __init__(self, options: dict[str, Any], *, redis: RedisServer, directory: Path) -> None:
        from benchmarks.harness import Processes, Shape

        self.options = options
        self.redis = redis
        self.directory = directory
        self.run_id = time.strftime("%Y%m%d%H%M%S") + f"-{random.randrange(16**4):04x}"
        self.processes = Processes(directory)
        self.shape = Shape(server="uvicorn", server_workers=max(1, options["server_workers"]), worker_pool="prefork",
                           worker_concurrency=max(1, options["worker_concurrency"]), server_conn_max_age=0,
                           worker_conn_max_age=60, worker_nice=10)
        self.outcome = Outcome(options={key: value for key, value in options.items()})
        self.accepted: set[str] = set()
        self.stop = threading.Event()

    # --- processes ---------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        from django.conf import settings

        assert self.simulator is not None
        return {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, "DJANGO_DEBUG": "false",
                "LOG_LEVEL": "ERROR", "WHATSAPP_GRAPH_API_URL": self.simulator.base_url, "PYTHONUNBUFFERED": "1",
                "PYTHONWARNINGS": "ignore", "REDIS_URL": self.redis.url}

    def _worker_start(self, generation: int) -> None:
        argv, _ = self.shape.worker_argv(f"{self.run_id}-{generation}")
        self.processes.start(f"worker-{generation}", argv, {**self._environment(), "DB_CONN_MAX_AGE": "60"})

    def _server_children(self) -> list[int]:
        """The uvicorn supervisor's worker processes (whichever of its threads started them)."""
        server = dict(self.processes.started)["server"]
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == server.pid and fields[0] != "Z":
                    children.append(int(stat.parent.name))
        return children

    # --- the run -----------------------------------------------------------------------------------

    def run(self) -> Outcome:
        from benchmarks.harness import bench_data_create, bench_data_delete, machine_facts
        from integrations.whatsapp_cloud.simulator import GraphSimulator

        self.outcome.machine = machine_facts()
        self.data = bench_data_create(run_id=self.run_id, throughput=1000)
        self.simulator = GraphSimulator(host="127.0.0.1", port=0, webhook_concurrency=8,
                                        webhook_retry_delays=(0.5, 1, 2, 4, 8, 16))  # Meta retries for days
        self.simulator.start()
        self.port = _free_port()
        number = self.data.number
        assert number is not None  # a WhatsApp Cloud channel's
        self.simulator.add_number(
            number.phone_number_id, token=number.token, app_secret=number.app_secret, waba_id=number.waba_id,
            webhook_url=f"http://127.0.0.1:{self.port}/webhooks/whatsapp_cloud/{self.data.channel.webhook_token}",
            display_phone_number=number.display_phone_number, throughput_per_second=1000)
        server_argv, _ = self.shape.server_argv(self.port)
        try:
            self.processes.start("server", server_argv, {**self._environment(), "DB_CONN_MAX_AGE": "0"})
            self.generation = 0
            self._worker_start(self.generation)
            print(f"Fault run {self.run_id}: server on 127.0.0.1:{self.port}, Redis on {self.redis.url} "
                  f"(persistence {self.redis.persistence}), simulator on {self.simulator.base_url}; logs in "
                  f"{self.directory}.", flush=True)
            self._wait_ready()
            self.conversations = self._conversations(20)
            replies = threading.Thread(target=self._write_replies, name="replies", daemon=True)
            faults = threading.Thread(target=self._inject_faults, name="faults", daemon=True)
            started = self.started_at = self.outcome.started_at = time.time()
            replies.start()
            faults.start()
            asyncio.run(self._post_webhooks())
            self.stop.set()
            replies.join(timeout=30)
            faults.join(timeout=60)
            print(f"Load done after {time.time() - started:.0f}s; waiting for the work to drain...", flush=True)
            self._drain()
            self._measure()
        finally:
            self.stop.set()
            self.processes.stop()
            self.simulator.stop()
            if not self.options["keep"]:
                from django.db import connection

                connection.close()
                bench_data_delete(self.data)
        return self.outcome

    def _wait_ready(self) -> None:
        from benchmarks.asgi import RAW_ASGI_PATH
        from benchmarks.harness import HttpConnection, http_request

        deadline = time.monotonic() + 90

        async def ask() -> int:
            http = HttpConnection(self.port)
            status = await http.request(http_request(RAW_ASGI_PATH, b"{}"), timeout=2)
            http.close()
            return status

        while asyncio.run(ask()) != 200:
            self.processes.check()
            if time.monotonic() > deadline:
                raise SystemExit("the ASGI server did not answer")
            time.sleep(0.5)
        time.sleep(3)  # the worker connects to the broker

    def _conversations(self, count: int) -> list[Any]:
        from django.utils import timezone

        from contacts.models import Contact, ContactIdentity
        from conversations.models import Conversation

        conversations = []
        for index in range(count):
            wa_id = f"55119777{index:05d}"
            contact = Contact.all_objects.create(tenant=self.data.tenant, name=f"Cliente {index}", phone=f"+{wa_id}")
            ContactIdentity.all_objects.create(tenant=self.data.tenant, contact=contact, channel=self.data.channel,
                                               external_id=wa_id)
            conversations.append(Conversation.all_objects.create(
                tenant=self.data.tenant, channel=self.data.channel, contact=contact,
                last_inbound_at=timezone.now() + timezone.timedelta(days=1)))  # the window stays open
        return conversations

    def _write_replies(self) -> None:
        """Agents' replies through the product's own service (its listener queues the sender)."""
        import logging

        from django.db import close_old_connections

        from conversations.services import message_send

        # While Redis is down the listeners cannot queue a sender nor push the event to browsers:
        # they say so (the replies wait; agents' pages reload what they missed), here silently.
        for name in ("integrations", "tenants.events"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        interval, index = 1.0 / self.options["reply_rate"], 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            next_at += interval
            conversation = self.conversations[index % len(self.conversations)]
            try:
                message_send(conversation=conversation, actor=None, content=f"Resposta {self.run_id} {index:06d}")
                index += 1
            except Exception as error:  # the database hiccups: a person would click again
                print(f"  (a reply could not be written: {type(error).__name__})", flush=True)
                close_old_connections()
            time.sleep(max(0.0, next_at - time.monotonic()))
        self.outcome.replies = index

    def _inject_faults(self) -> None:
        kinds = self.options["faults"]
        turn = 0
        while not self.stop.wait(self.options["interval"]):
            kind = kinds[turn % len(kinds)]
            turn += 1
            fault = Fault(kind=kind, killed_at=time.time())
            if kind == "server":
                children = self._server_children()
                if not children:
                    continue
                victim = random.choice(children)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
                fault.detail = f"uvicorn worker process {victim}"
                deadline = time.monotonic() + 30
                while (len(self._server_children()) < self.shape.server_workers or victim in self._server_children()) \
                        and time.monotonic() < deadline:
                    time.sleep(0.05)
            elif kind == "worker":
                name = f"worker-{self.generation}"
                worker = dict(self.processes.started)[name]
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
                self.processes.started = [(n, p) for n, p in self.processes.started if n != name]
                self.generation += 1
                self._worker_start(self.generation)
                fault.detail = "Celery worker and its pool"
            else:
                self.redis.kill()
                self.redis.start()
                fault.detail = f"redis-server (persistence {self.redis.persistence})"
            fault.back_at = time.time()
            self.outcome.faults.append(fault)
            print(f"  t+{fault.killed_at - self.started_at:5.1f}s killed {fault.detail}; back after "
                  f"{fault.back_at - fault.killed_at:.2f}s", flush=True)

    async def _post_webhooks(self) -> None:
        """Webhooks at `rate` per second, open loop; one that is not answered 200 is posted again
        a second later (a provider retries)."""
        import functools

        from benchmarks.harness import HttpConnection
        from benchmarks.providers import cloud_inbound_text
        from benchmarks.whatsapp import InboundWebhooks

        outcome = self.outcome
        assert self.data.number is not None  # a WhatsApp Cloud channel's
        webhooks = InboundWebhooks(inbound_text=functools.partial(cloud_inbound_text, self.data.number),
                                   path=f"/webhooks/whatsapp_cloud/"
                                   f"{self.data.channel.webhook_token}", prefix=f"wamid.FAULT{self.run_id}N",
                                   duplicates=False)
        queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
        in_flight = 0

        async def client() -> None:
            nonlocal in_flight
            http = HttpConnection(self.port)
            while True:
                raw, wamid = await queue.get()
                in_flight += 1
                try:
                    status = await http.request(raw, timeout=10)
                except Exception:
                    status = 0
                in_flight -= 1
                outcome.answers[status] += 1
                if status == 200:
                    self.accepted.add(wamid)
                else:
                    if status == 0:
                        http.close()
                        http = HttpConnection(self.port)
                    outcome.reposted += 1
                    asyncio.get_running_loop().call_later(1.0, queue.put_nowait, (raw, wamid))
                queue.task_done()

        clients = [asyncio.create_task(client()) for _ in range(self.options["connections"])]
        start = time.time()
        interval, sent = 1.0 / self.options["rate"], 0
        while time.time() - start < self.options["duration"]:
            due = start + sent * interval
            await asyncio.sleep(max(0.0, due - time.time()))
            raw, wamid = webhooks.next()
            assert wamid is not None
            queue.put_nowait((raw, wamid))
            sent += 1
        outcome.posted = sent
        deadline = time.monotonic() + 120  # what is still being retried
        while (queue.qsize() or in_flight or len(self.accepted) < sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        for task in clients:
            task.cancel()
        outcome.accepted = len(self.accepted)

    def _drain(self) -> None:
        from conversations.models import Message
        from integrations.models import WebhookEvent

        started = time.monotonic()
        deadline = started + self.options["drain_timeout"]
        channel = self.data.channel
        while time.monotonic() < deadline:
            self.processes.check()
            waiting = WebhookEvent.all_objects.filter(channel=channel, status=WebhookEvent.Status.RECEIVED).exists()
            sending = Message.all_objects.filter(channel=channel, direction=Message.Direction.OUTBOUND, status=Message.Status.PENDING).exists()
            if not waiting and not sending:
                break
            time.sleep(0.5)
        self.outcome.drain_seconds = time.monotonic() - started

    def _measure(self) -> None:
        from django.db.models import Count, Max

        from conversations.models import Message
        from conversations.services import DELIVERY_UNKNOWN
        from integrations.models import WebhookEvent

        outcome, channel = self.outcome, self.data.channel
        stored = Message.all_objects.filter(channel=channel, direction=Message.Direction.INBOUND,
                                            provider_message_id__startswith=f"wamid.FAULT{self.run_id}N")
        stored_ids = set(stored.values_list("provider_message_id", flat=True))
        outcome.lost = len(self.accepted - stored_ids)
        outcome.duplicated = stored.values("provider_message_id").annotate(n=Count("id")).filter(n__gt=1).count()
        outcome.still_waiting = WebhookEvent.all_objects.filter(channel=channel,
                                                                status=WebhookEvent.Status.RECEIVED).count()
        replies = Message.all_objects.filter(channel=channel, direction=Message.Direction.OUTBOUND)
        outcome.replies = replies.count()
        outcome.replies_sent = replies.filter(status__in=(Message.Status.SENT, Message.Status.DELIVERED,
                                                          Message.Status.READ)).count()
        outcome.replies_unknown = replies.filter(status=Message.Status.FAILED, error_code=DELIVERY_UNKNOWN).count()
        outcome.replies_failed_other = replies.filter(status=Message.Status.FAILED).exclude(
            error_code=DELIVERY_UNKNOWN).count()
        outcome.replies_pending = replies.filter(status=Message.Status.PENDING).count()
        sent_bodies = Counter(record["body"].get("text", {}).get("body", "") for record in self.simulator.sent)
        unknown = replies.filter(status=Message.Status.FAILED, error_code=DELIVERY_UNKNOWN)
        outcome.replies_unknown_never_received = sum(
            1 for content in unknown.values_list("content", flat=True) if content not in sent_bodies)
        outcome.simulator_sends = sum(sent_bodies.values())
        outcome.double_sends = sum(count - 1 for count in sent_bodies.values() if count > 1)
        events = WebhookEvent.all_objects.filter(channel=channel)
        for fault in outcome.faults:
            back = _aware(fault.back_at)
            done = events.filter(received_at__lte=back).aggregate(last=Max("processed_at"))["last"]
            fault.recovery_inbound = max(0.0, done.timestamp() - fault.back_at) if done else 0.0
            waiting = replies.filter(created_at__lte=back)
            if waiting.filter(status=Message.Status.PENDING).exists():
                fault.recovery_outbound = None  # never sent
            else:
                last = waiting.aggregate(last=Max("sent_at"))["last"]
                fault.recovery_outbound = max(0.0, last.timestamp() - fault.back_at) if last else 0.0


def _aware(moment: float) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(moment, tz=dt.UTC)


def render(outcome: Outcome) -> list[str]:
    options = outcome.options
    lines = ["", "Machine"] + [f"  {key:<12} {value}" for key, value in outcome.machine.items()]
    lines += ["Run", f"  load         {options['rate']:g} signed webhooks/s and {options['reply_rate']:g} replies/s "
                     f"for {options['duration']:g}s; a fault every {options['interval']:g}s: "
                     f"{', '.join(options['faults'])} in turn (SIGKILL, restarted at once); no Celery beat",
              f"  redis        its own redis-server, persistence {options['redis_persistence']}",
              f"  drain        {outcome.drain_seconds:.1f}s after the load stopped", ""]
    worst: dict[str, float | None] = {}
    lines.append(f"{'fault':<8}{'killed at':>10}{'back after':>12}{'webhooks done after':>22}{'replies sent after':>21}")
    for fault in outcome.faults:
        lines.append(f"{fault.kind:<8}{fault.killed_at - outcome.started_at:>9.1f}s{fault.back_at - fault.killed_at:>11.2f}s"
                     f"{_seconds(fault.recovery_inbound):>22}{_seconds(fault.recovery_outbound):>21}")
        for key, value in ((f"{fault.kind} inbound", fault.recovery_inbound),
                           (f"{fault.kind} outbound", fault.recovery_outbound)):
            if value is None or worst.get(key, 0.0) is None:
                worst[key] = None
            else:
                worst[key] = max(worst.get(key) or 0.0, value)
    non_200 = sum(count for status, count in outcome.answers.items() if status != 200)
    recovered = all(value is not None and value <= TARGET_RECOVERY_SECONDS for value in worst.values())
    lines += [
        "",
        f"{'Figure':<52}{'Result':<40}{'Target':<12}Met",
        f"{'Webhooks posted / accepted (200)':<52}{f'{outcome.posted:,} / {outcome.accepted:,}':<40}",
        f"{'  answers other than 200, posted again':<52}{f'{non_200:,} ({dict(outcome.answers)})':<40}",
        f"{'Lost (accepted, never stored)':<52}{outcome.lost:<40}{'0':<12}{_met(outcome.lost == 0)}",
        f"{'Duplicated (> 1 message per wamid)':<52}{outcome.duplicated:<40}{'0':<12}{_met(outcome.duplicated == 0)}",
        f"{'Webhooks still waiting at the end':<52}{outcome.still_waiting:<40}{'0':<12}"
        f"{_met(outcome.still_waiting == 0)}",
        f"{'Replies written / sent':<52}{f'{outcome.replies:,} / {outcome.replies_sent:,}':<40}",
        f"{'  failed as delivery unknown (sender died mid-send)':<52}"
        f"{f'{outcome.replies_unknown} ({outcome.replies_unknown_never_received} never reached the provider)':<40}",
        f"{'  failed otherwise / still waiting':<52}{f'{outcome.replies_failed_other} / {outcome.replies_pending}':<40}"
        f"{'0 waiting':<12}{_met(outcome.replies_pending == 0)}",
        f"{'Double sends (the simulator got a reply twice)':<52}{outcome.double_sends:<40}{'0':<12}"
        f"{_met(outcome.double_sends == 0)}",
        *(f"{f'Worst recovery after a {key} fault':<52}{_seconds(value):<40}{'<= 30 s':<12}"
          f"{_met(value is not None and value <= TARGET_RECOVERY_SECONDS)}" for key, value in sorted(worst.items())),
        "",
        "Recovery after a fault: from when the killed part was back (uvicorn started its new worker process, the "
        "new Celery worker was started, Redis answered again) until every webhook received before then was "
        "processed and every reply written before then was sent.",
        f"All targets met: {_met(recovered and outcome.lost == 0 and outcome.duplicated == 0 and outcome.double_sends == 0 and outcome.replies_pending == 0 and outcome.still_waiting == 0)}",
    ]
    return lines


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"


def _met(value: bool) -> str:
    return "yes" if value else "NO"


if __name__ == "__main__":
    sys.exit(main())
