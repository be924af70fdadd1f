"""`python -m benchmarks.webhooks`: outbound webhooks delivered to three local receivers.

    python -m benchmarks.webhooks [--events 10000] [--rate 200] [--conversations N] [--worker-concurrency 4]
                                  [--send-concurrency 128] [--keep] [--clean]

Run it from the repository root with DATABASE_URL (PostgreSQL) and REDIS_URL, each a database of
its own, as for `benchmarks.whatsapp` (docs/benchmarks.md). It creates a tenant with one API channel,
`--conversations` conversations (events / 4 by default) and one message per event, and three
endpoints subscribed to `message.received`, each served by a receiver in this process:

- **fast**: answers 200 at once;
- **slow**: answers 200 after 500 ms;
- **flaky**: answers 500 to the first attempt of half the events (chosen by webhook-id), 200 to
  the rest, so that half its deliveries go through a retry (30 s later, as in production).

The events are offered at a steady `--rate` a second (200 by default: 600 deliveries a second
across the three receivers), made every 50 ms by the product's listener
(`webhooks_fan_out_many`: the deliveries written, the senders queued as after a commit), so that
an event's delay to its 200 measures the sender, not a backlog made in advance; `--rate 0` makes
them all at once, in batches of 500 (the first runs' shape). A Celery worker (`--worker-concurrency`
processes, prefork) is started as a subprocess with WEBHOOK_SEND_CONCURRENCY=`--send-concurrency`
and WEBHOOKS_ALLOW_PRIVATE=true. Due retries are queued every 2 s by the product's sweep task, as
Celery beat does every WEBHOOK_SWEEP_SECONDS. Before the events, the machine's ceiling for the
same HTTP exchanges is measured: POSTs to a receiver like the fast one from one separate process
(urllib3, 16 threads, keep-alive, 5 s), without Django, the database or signatures.

It stops when every receiver has answered 200 to every event (or when nothing moved for 120 s), and
prints deliveries a second (all receivers' 200s from the first event to the last 200; and fast +
slow alone) also as a share of the ceiling, the offered rate and how far the maker fell behind
it, each receiver's p50/p99 delay from its event being made to its 200, and, counted by
webhook-id, how many events each receiver got exactly once, more than once (answered 200 twice),
and never; then where the CPU went (the machine's load average and the cores used by others
than the benchmark's processes, PostgreSQL and Redis, since the machine may be shared).
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Membership, Role, User  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    HOST,
    BenchData,
    BenchmarkError,
    Processes,
    Shape,
    bench_data_delete,
    command_run,
    cpu_snapshot,
    cpu_used,
    machine_facts,
    percentile,
    say,
)
from channels_app.models import Channel  # noqa: E402
from contacts.models import Contact  # noqa: E402
from conversations.events import MessageCreated  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from tenants.events import DomainEvent  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from webhooks.listeners import webhooks_fan_out_many  # noqa: E402
from webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: E402
from webhooks.services import webhook_endpoint_register  # noqa: E402
from webhooks.tasks import webhook_deliveries_sweep  # noqa: E402

BURST_BATCH = 500  # --rate 0: the events made at once, in batches of this many
TICK_SECONDS = 0.05  # --rate N: the events due are made this often
SLOW_SECONDS = 0.5
STALL_SECONDS = 120.0
SWEEP_SECONDS = 2.0
WORKER_START_SECONDS = 120.0
CEILING_SECONDS, CEILING_THREADS = 5.0, 16
SLUG_PREFIX = "benchmark-whatsapp-hooks-"  # `benchmarks.whatsapp --clean` deletes what a killed run left
_EVENT_ID = re.compile(rb'"id":"([^"]+)"')  # the envelope's event id (its first "id")

# The ceiling's client: a separate process, so that it does not share this one's interpreter lock
# with the receivers (as the worker does not).
_CEILING_CLIENT = """
import sys, threading, time, urllib3
url, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
pool = urllib3.PoolManager(maxsize=threads)
body = b'{"event":"message.received","version":1,"id":"ceiling","data":{}}'
counts = [0] * threads
def client(n):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pool.request("POST", url, body=body, headers={"Content-Type": "application/json",
                        "webhook-id": "ceiling"}, retries=False).status == 200:
            counts[n] += 1
workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
started = time.monotonic()
[w.start() for w in workers]
[w.join() for w in workers]
print(sum(counts) / (time.monotonic() - started))
"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog (5 by default refuses a burst of connections)


class Receiver:
    """A local HTTP/1.1 (keep-alive) server recording, per webhook-id, every 200 it answered,
    and when it first answered 200 to each event."""

    def __init__(self, name: str, *, delay: float = 0.0, fail_first_of_half: bool = False) -> None:
        self.name, self.delay, self.fail_first_of_half = name, delay, fail_first_of_half
        self.ok: Counter[str] = Counter()
        self.ok_at: dict[str, float] = {}  # event id → its first 200
        self.failed_once: set[str] = set()
        self.requests = 0
        self.last_ok = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                webhook_id = self.headers.get("webhook-id", "")
                event_id = _EVENT_ID.search(body)
                status = receiver.answer(webhook_id, event_id.group(1).decode() if event_id else "")
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_port}/{name}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, webhook_id: str, event_id: str) -> int:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests += 1
            if (self.fail_first_of_half and webhook_id not in self.failed_once
                    and hashlib.sha256(webhook_id.encode()).digest()[0] % 2 == 0):
                self.failed_once.add(webhook_id)
                return 500
            now = time.monotonic()
            self.ok[webhook_id] += 1
            self.ok_at.setdefault(event_id, now)
            self.last_ok = now
            return 200

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _data_create(run_id: str, *, events: int, conversations: int) -> tuple[Tenant, list[MessageCreated]]:
    tenant = Tenant.objects.create(name=f"Benchmark webhooks {run_id}", slug=f"{SLUG_PREFIX}{run_id}",
                                   status=Tenant.Status.ACTIVE, plan="benchmark", max_channels=0, max_agents=0,
                                   max_messages_per_month=0)
    user = User.objects.create_user(email=f"benchmark-{run_id}@benchmark.invalid", password=None,
                                    full_name="Benchmark integrator")
    Membership.all_objects.create(tenant=tenant, user=user, role=Role.TENANT_ADMIN)
    channel = Channel.all_objects.create(tenant=tenant, kind="api", name="Benchmark API", status="CONNECTED")
    contacts = Contact.all_objects.bulk_create(
        [Contact(tenant=tenant, name=f"Customer {n}") for n in range(conversations)], batch_size=2000)
    threads = Conversation.all_objects.bulk_create(
        [Conversation(tenant=tenant, channel=channel, contact=contact) for contact in contacts], batch_size=2000)
    messages = Message.all_objects.bulk_create(
        [Message(tenant=tenant, conversation=threads[n % conversations], channel=channel, direction="INBOUND",
                 sender_type="CONTACT", content=f"Message {n}", status="DELIVERED") for n in range(events)],
        batch_size=2000)
    by_pk = {conversation.pk: conversation for conversation in threads}
    found = [MessageCreated(tenant_pk=tenant.pk, event_id=str(message.public_id), message_pk=message.pk,
                            conversation_pk=message.conversation_id, channel_pk=channel.pk,
                            message_id=str(message.public_id),
                            conversation_id=str(by_pk[message.conversation_id].public_id),
                            channel_id=str(channel.public_id), direction="INBOUND", private=False)
             for message in messages]
    return tenant, found


def _ceiling(url: str) -> float:
    """POSTs a second to `url` from a separate process (see _CEILING_CLIENT)."""
    done = subprocess.run([sys.executable, "-c", _CEILING_CLIENT, url, str(CEILING_SECONDS), str(CEILING_THREADS)],
                          capture_output=True, text=True, timeout=CEILING_SECONDS + 60, check=True)
    return float(done.stdout.strip())


def _worker_wait(processes: Processes, run_id: str) -> None:
    """Until the worker answers a ping (on a loaded machine it takes more than the ceiling's
    seconds to start, and the first events would measure its start)."""
    from config.celery_app import app

    deadline = time.monotonic() + WORKER_START_SECONDS
    while not app.control.ping(destination=[f"benchmark-{run_id}@{socket.gethostname()}"], timeout=1.0):
        processes.check()
        if time.monotonic() > deadline:
            raise BenchmarkError(f"The worker did not answer within {WORKER_START_SECONDS:.0f} s:\n"
                                 f"{processes.log_tail('worker')}")


def _loadavg() -> float:
    with open("/proc/loadavg") as loadavg:
        return float(loadavg.read().split()[0])


def _delays(receiver: Receiver, made_at: dict[str, float]) -> list[float]:
    return sorted((receiver.ok_at[event_id] - made) * 1000 for event_id, made in made_at.items()
                  if event_id in receiver.ok_at)


def _run(options: argparse.Namespace) -> list[str]:
    run_id = secrets.token_hex(4)
    events_count, rate = options.events, options.rate
    conversations = options.conversations or max(1, events_count // 4)
    log_dir = Path(tempfile.mkdtemp(prefix="benchmark-webhooks-"))
    receivers = [Receiver("fast"), Receiver("slow", delay=SLOW_SECONDS), Receiver("flaky", fail_first_of_half=True)]
    ceiling_receiver = Receiver("ceiling")
    processes = Processes(log_dir)
    tenant = None
    try:
        say(f"Creating {events_count:,} messages in {conversations:,} conversations…")
        tenant, events = _data_create(run_id, events=events_count, conversations=conversations)
        settings.WEBHOOKS_ALLOW_PRIVATE = True
        for receiver in receivers:
            webhook_endpoint_register(tenant=tenant, actor=None, url=receiver.url, events=["message.received"])
        shape = Shape(server="uvicorn", server_workers=0, worker_pool="prefork",
                      worker_concurrency=options.worker_concurrency, server_conn_max_age=0, worker_conn_max_age=60)
        worker_argv, worker_text = shape.worker_argv(run_id)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, "DJANGO_DEBUG": "false",
               "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "DB_CONN_MAX_AGE": "60",
               "WEBHOOKS_ALLOW_PRIVATE": "true", "WEBHOOK_SEND_CONCURRENCY": str(options.send_concurrency)}
        processes.start("worker", worker_argv, env)
        say(f"Measuring the ceiling: POSTs to a receiver from one process ({CEILING_THREADS} threads, "
            f"{CEILING_SECONDS:.0f} s)…")
        ceiling = _ceiling(ceiling_receiver.url)  # (the worker's processes start meanwhile)
        _worker_wait(processes, run_id)
        offered = f"at {rate:,.0f} events/s" if rate else f"at once, in batches of {BURST_BATCH}"
        say(f"Worker started ({worker_text}; logs: {log_dir}). Making {events_count:,} events {offered}…")

        made_at: dict[str, float] = {}
        loads: list[float] = [_loadavg()]
        cpu_before = cpu_snapshot(processes.groups)
        started = time.monotonic()
        made, behind, next_sweep, next_say = 0, 0.0, started, started
        last_progress, last_total = started, -1

        def tick(now: float) -> None:
            nonlocal next_sweep, next_say
            if now >= next_sweep:
                webhook_deliveries_sweep.delay()
                next_sweep = now + SWEEP_SECONDS
            if now >= next_say:
                processes.check()
                loads.append(_loadavg())
                next_say = now + 5.0
                say(f"  {now - started:6.1f} s: made {made:,}; " + ", ".join(f"{r.name} {len(r.ok):,}"
                                                                             for r in receivers))

        while made < events_count:
            now = time.monotonic()
            due = min(events_count, made + BURST_BATCH if not rate else int((now - started) * rate) + 1)
            if due > made:
                if rate:
                    behind = max(behind, now - (started + (due - 1) / rate))
                batch: list[DomainEvent] = list(events[made:due])
                for event in batch:
                    made_at[str(event.event_id)] = now
                webhooks_fan_out_many(batch)  # the deliveries, and their senders queued
                made = due
            tick(time.monotonic())
            if rate:
                time.sleep(max(0.0, now + TICK_SECONDS - time.monotonic()))
        made_seconds = time.monotonic() - started
        say(f"Made {events_count * len(receivers):,} deliveries in {made_seconds:.1f} s; waiting for the receivers…")
        while True:
            total = sum(len(receiver.ok) for receiver in receivers)
            now = time.monotonic()
            if total != last_total:
                last_total, last_progress = total, now
            if total >= events_count * len(receivers) or now - last_progress > STALL_SECONDS:
                break
            tick(now)
            time.sleep(0.5)
        finished = max(receiver.last_ok for receiver in receivers)
        cpu = cpu_used(cpu_before, cpu_snapshot(processes.groups), time.monotonic() - started)
        loads.append(_loadavg())
        return _report(options, receivers, made_at, events_count=events_count, conversations=conversations,
                       started=started, finished=finished, made_seconds=made_seconds, behind=behind,
                       ceiling=ceiling, worker_text=worker_text, cpu=cpu, loads=loads)
    finally:
        processes.stop()
        for receiver in (*receivers, ceiling_receiver):
            receiver.stop()
        if tenant is not None and not options.keep:
            try:
                # As statements on the tenant's rows: Django's cascade lists every row's id in one
                # statement (more than PostgreSQL's 65,535 parameters at 100,000 events).
                WebhookDelivery.all_objects.filter(tenant=tenant)._raw_delete(connection.alias)  # type: ignore[attr-defined]
                WebhookEndpoint.all_objects.filter(tenant=tenant).delete()
                user = User.objects.filter(email=f"benchmark-{run_id}@benchmark.invalid").first()
                bench_data_delete(BenchData(run_id=run_id, tenant=tenant, user=user,  # type: ignore[arg-type]
                                            channel=None, number=None))  # type: ignore[arg-type]
                say(f"Deleted the benchmark data (tenant {tenant.slug}).")
            except Exception as error:  # noqa: BLE001 - the figures are still printed
                say(f"Could not delete the benchmark data ({error}): `--clean` deletes it.")


def _report(options: argparse.Namespace, receivers: list[Receiver], made_at: dict[str, float], *,
            events_count: int, conversations: int, started: float, finished: float, made_seconds: float,
            behind: float, ceiling: float, worker_text: str, cpu: dict[str, float], loads: list[float]) -> list[str]:
    rate = options.rate
    elapsed = finished - started
    delivered = sum(sum(receiver.ok.values()) for receiver in receivers)
    offered = (f"{rate:,.0f} events/s ({rate * len(receivers):,.0f} deliveries/s) for {made_seconds:.1f} s, "
               f"made every {TICK_SECONDS * 1000:.0f} ms by the listener; the maker at most {behind * 1000:,.0f} ms "
               "behind schedule") if rate else f"all at once, in batches of {BURST_BATCH}, in {made_seconds:.1f} s"
    lines = ["", "Machine"] + [f"  {name:12} {value}" for name, value in machine_facts().items()]
    lines += ["Configuration",
              f"  worker       {worker_text}",
              f"  sender       WEBHOOK_SEND_CONCURRENCY {options.send_concurrency} per endpoint",
              f"  events       {events_count:,} message.received in {conversations:,} conversations, 3 endpoints",
              f"  offered      {offered}",
              "", f"{'Figure':44} {'Result':52} Target",
              f"{'Ceiling: POSTs/s to a receiver (no Django)':44} {ceiling:,.0f}/s"]

    def share(value: float) -> str:
        return f" ({value / ceiling:.0%} of ceiling)" if ceiling else ""

    rate_all = delivered / elapsed if elapsed > 0 else 0.0
    lines.append(f"{'Deliveries a second (200s, all receivers)':44} "
                 f"{f'{rate_all:,.0f}/s{share(rate_all)} ({delivered:,} in {elapsed:.1f} s)':52} >= 500/s")
    no_retry = [r for r in receivers if not r.fail_first_of_half and r.ok]
    if no_retry:
        until = max(r.last_ok for r in no_retry) - started
        count = sum(sum(r.ok.values()) for r in no_retry)
        lines.append(f"{'… fast + slow (no retry to wait for)':44} "
                     f"{count / until:,.0f}/s{share(count / until)} ({count:,} in {until:.1f} s)")
    for receiver in receivers:
        delays = _delays(receiver, made_at)
        if delays:
            target = "p99 <= 1,000 ms" if receiver is receivers[0] else ""
            lines.append(f"{f'{receiver.name}: event to 200, p50 / p99':44} "
                         f"{f'{percentile(delays, 0.5):,.0f} / {percentile(delays, 0.99):,.0f} ms':52} {target}")
    for receiver in receivers:
        once = sum(1 for count in receiver.ok.values() if count == 1)
        twice = sum(1 for count in receiver.ok.values() if count > 1)
        lost = events_count - len(receiver.ok)
        done = (receiver.last_ok - started) if receiver.ok else float("nan")
        lines.append(f"{f'{receiver.name}: once / more than once / never':44} "
                     f"{f'{once:,} / {twice:,} / {lost:,} (done at {done:.1f} s, {receiver.requests:,} requests)':52}"
                     " all once, 0 lost")
    ours = sum(value for name, value in cpu.items() if name != "machine")
    lines += ["", "CPU (cores, averaged over the run)"]
    lines += [f"  {name:44} {value:.2f}" for name, value in sorted(cpu.items()) if name != "machine"]
    lines += [f"  {'machine (all processes)':44} {cpu.get('machine', 0.0):.2f}",
              f"  {'others than these (another user)':44} {max(0.0, cpu.get('machine', 0.0) - ours):.2f}",
              f"  {'load average (1 min), min / max':44} {min(loads):.2f} / {max(loads):.2f}"]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0,
                        help="events offered a second (0: all at once, in batches of 500)")
    parser.add_argument("--conversations", type=int, default=0, help="default: events / 4")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--send-concurrency", type=int, default=128)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--clean", action="store_true")
    options = parser.parse_args()
    return command_run(lambda: _run(options), clean=options.clean, database="inbox_bench",
                       redis="redis://127.0.0.1:6379/9", needs_worker=True,
                       interrupted="Interrupted: the worker was stopped and the data deleted.")


if __name__ == "__main__":
    sys.exit(main())
