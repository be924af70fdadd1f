"""`python -m benchmarks.webhooks`: outbound webhooks delivered to three local receivers.

    python -m benchmarks.webhooks [--events 10000] [--conversations N] [--worker-concurrency 4]
                                  [--send-concurrency 64] [--clean]

Run it from the repository root with DATABASE_URL (PostgreSQL) and REDIS_URL, each a database of
its own, as for `benchmarks.whatsapp` (docs/benchmarks.md). It creates a tenant with one API channel,
`--conversations` conversations (events / 4 by default) and one message per event, and three
endpoints subscribed to `message.received`, each served by a receiver in this process:

- **fast**: answers 200 at once;
- **slow**: answers 200 after 500 ms;
- **flaky**: answers 500 to the first attempt of half the events (chosen by webhook-id), 200 to
  the rest, so that half its deliveries go through a retry (30 s later, as in production).

The events' deliveries are made in batches of 500 by the product's own function (the listener's
`webhook_deliveries_create`), each batch's senders queued as the listener queues them, to a Celery
worker (`--worker-concurrency` processes, prefork) started as a subprocess with
WEBHOOK_SEND_CONCURRENCY=`--send-concurrency` and WEBHOOKS_ALLOW_PRIVATE=true. Due retries are
queued every 2 s by the product's sweep task, as Celery beat does every WEBHOOK_SWEEP_SECONDS.
It stops when every receiver has answered 200 to every event (or when nothing moved for 120 s), and
prints deliveries a second (all receivers' 200s over the time from the first batch to the last
200), the fast receiver's p50/p99 delay from an event's batch being made to its 200, each receiver's
time to finish, and, counted by webhook-id, how many events each receiver got exactly once, more
than once (answered 200 twice), and never.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from django.conf import settings  # noqa: E402

from accounts.models import Membership, Role, User  # noqa: E402
from benchmarks.harness import HOST, Processes, Shape, command_run, machine_facts, percentile, say  # noqa: E402
from channels_app.models import Channel  # noqa: E402
from contacts.models import Contact  # noqa: E402
from conversations.events import MessageCreated  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from webhooks.models import WebhookEndpoint  # noqa: E402
from webhooks.services import webhook_deliveries_create, webhook_endpoint_register  # noqa: E402
from webhooks.tasks import webhook_deliveries_sweep, webhook_endpoint_deliver_task  # noqa: E402

BATCH = 500
SLOW_SECONDS = 0.5
STALL_SECONDS = 120.0
SLUG_PREFIX = "benchmark-whatsapp-hooks-"  # `benchmarks.whatsapp --clean` deletes what a killed run left


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog (5 by default refuses a burst of connections)


class Receiver:
    """A local HTTP/1.1 (keep-alive) server recording, per webhook-id, every 200 it answered."""

    def __init__(self, name: str, *, delay: float = 0.0, fail_first_of_half: bool = False) -> None:
        self.name, self.delay, self.fail_first_of_half = name, delay, fail_first_of_half
        self.ok: Counter[str] = Counter()
        self.ok_at: dict[str, float] = {}
        self.failed_once: set[str] = set()
        self.requests = 0
        self.last_ok = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                webhook_id = self.headers.get("webhook-id", "")
                status = receiver.answer(webhook_id)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_port}/{name}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, webhook_id: str) -> int:
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
            self.ok_at.setdefault(webhook_id, now)
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
        [Contact(tenant=tenant, name=f"Customer {n}") for n in range(conversations)])
    threads = Conversation.all_objects.bulk_create(
        [Conversation(tenant=tenant, channel=channel, contact=contact) for contact in contacts])
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


def _run(options: argparse.Namespace) -> list[str]:
    run_id = secrets.token_hex(4)
    events_count = options.events
    conversations = options.conversations or max(1, events_count // 4)
    log_dir = Path(tempfile.mkdtemp(prefix="benchmark-webhooks-"))
    receivers = [Receiver("fast"), Receiver("slow", delay=SLOW_SECONDS), Receiver("flaky", fail_first_of_half=True)]
    processes = Processes(log_dir)
    tenant = None
    try:
        say(f"Creating {events_count:,} messages in {conversations:,} conversations…")
        tenant, events = _data_create(run_id, events=events_count, conversations=conversations)
        settings.WEBHOOKS_ALLOW_PRIVATE = True
        endpoints = [webhook_endpoint_register(tenant=tenant, actor=None, url=receiver.url,
                                               events=["message.received"])[0] for receiver in receivers]
        shape = Shape(server="uvicorn", server_workers=0, worker_pool="prefork",
                      worker_concurrency=options.worker_concurrency, server_conn_max_age=0, worker_conn_max_age=60)
        worker_argv, worker_text = shape.worker_argv(run_id)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, "DJANGO_DEBUG": "false",
               "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "DB_CONN_MAX_AGE": "60",
               "WEBHOOKS_ALLOW_PRIVATE": "true", "WEBHOOK_SEND_CONCURRENCY": str(options.send_concurrency)}
        processes.start("worker", worker_argv, env)
        time.sleep(3)  # the worker's processes start
        processes.check()
        say(f"Worker started ({worker_text}; logs: {log_dir}). Making {events_count:,} events' deliveries…")

        made_at: dict[str, float] = {}
        started = time.monotonic()
        for start in range(0, len(events), BATCH):
            batch = events[start:start + BATCH]
            woken = webhook_deliveries_create(batch)
            now = time.monotonic()
            # Each delivery's webhook-id is its own public id: read them back for the delay.
            from webhooks.models import WebhookDelivery

            for public_id in WebhookDelivery.all_objects.filter(
                    endpoint=endpoints[0], event_id__in=[event.event_id for event in batch]).values_list(
                    "public_id", flat=True):
                made_at[str(public_id)] = now
            for pk in woken:
                webhook_endpoint_deliver_task.delay(endpoint_pk=pk)
        made_seconds = time.monotonic() - started
        say(f"Made {events_count * len(receivers):,} deliveries in {made_seconds:.1f} s; waiting for the receivers…")

        last_progress, last_total, next_sweep = time.monotonic(), -1, 0.0
        while True:
            processes.check()
            total = sum(len(receiver.ok) for receiver in receivers)
            now = time.monotonic()
            if total != last_total:
                last_total, last_progress = total, now
            if total >= events_count * len(receivers) or now - last_progress > STALL_SECONDS:
                break
            if now >= next_sweep:
                webhook_deliveries_sweep.delay()
                next_sweep = now + 2.0
                say(f"  {now - started:6.1f} s: " + ", ".join(f"{r.name} {len(r.ok):,}" for r in receivers))
            time.sleep(0.5)
        finished = max(receiver.last_ok for receiver in receivers)
        elapsed = finished - started
        delivered = sum(sum(receiver.ok.values()) for receiver in receivers)
        fast = receivers[0]
        delays = sorted((fast.ok_at[webhook_id] - made) * 1000 for webhook_id, made in made_at.items()
                        if webhook_id in fast.ok_at)
        facts = machine_facts()
        lines = ["", "Machine"] + [f"  {name:12} {value}" for name, value in facts.items()]
        lines += ["Configuration",
                  f"  worker       {worker_text}",
                  f"  sender       WEBHOOK_SEND_CONCURRENCY {options.send_concurrency} per endpoint",
                  f"  events       {events_count:,} message.received in {conversations:,} conversations, "
                  f"3 endpoints; deliveries made in batches of {BATCH} in {made_seconds:.1f} s",
                  "", f"{'Figure':44} {'Result':44} Target"]
        lines.append(f"{'Deliveries a second (200s, all receivers)':44} "
                     f"{delivered / elapsed:,.0f}/s ({delivered:,} in {elapsed:.1f} s){'':8} >= 500/s")
        no_retry = [r for r in receivers if not r.fail_first_of_half and r.ok]
        if no_retry:
            until = max(r.last_ok for r in no_retry) - started
            count = sum(sum(r.ok.values()) for r in no_retry)
            lines.append(f"{'… fast + slow (no retry to wait for)':44} {count / until:,.0f}/s "
                         f"({count:,} in {until:.1f} s)")
        if delays:
            lines.append(f"{'Fast receiver: event to 200, p50 / p99':44} "
                         f"{percentile(delays, 0.5):,.0f} / {percentile(delays, 0.99):,.0f} ms{'':26} p99 <= 1,000 ms")
        for receiver in receivers:
            once = sum(1 for count in receiver.ok.values() if count == 1)
            twice = sum(1 for count in receiver.ok.values() if count > 1)
            lost = events_count - len(receiver.ok)
            done = (receiver.last_ok - started) if receiver.ok else float("nan")
            lines.append(f"{f'{receiver.name}: once / more than once / never':44} "
                         f"{once:,} / {twice:,} / {lost:,} (done at {done:.1f} s, {receiver.requests:,} requests)"
                         f"{'':2} all once, 0 lost")
        return lines
    finally:
        processes.stop()
        for receiver in receivers:
            receiver.stop()
        if tenant is not None and not options.keep:
            WebhookEndpoint.all_objects.filter(tenant=tenant).delete()
            Message.all_objects.filter(tenant=tenant).delete()
            Conversation.all_objects.filter(tenant=tenant).delete()
            Contact.all_objects.filter(tenant=tenant).delete()
            Channel.all_objects.filter(tenant=tenant).delete()
            User.objects.filter(email=f"benchmark-{run_id}@benchmark.invalid").delete()
            tenant.delete()
            say(f"Deleted the benchmark data (tenant {tenant.slug}).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=0, help="default: events / 4")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--send-concurrency", type=int, default=64)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--clean", action="store_true")
    options = parser.parse_args()
    return command_run(lambda: _run(options), clean=options.clean, database="inbox_bench",
                       redis="redis://127.0.0.1:6379/9", needs_worker=True,
                       interrupted="Interrupted: the worker was stopped and the data deleted.")


if __name__ == "__main__":
    sys.exit(main())
