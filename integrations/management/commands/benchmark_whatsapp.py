"""Measure the WhatsApp Cloud pipeline in the production shape, on this machine, over loopback.

    manage.py benchmark_whatsapp [--duration 60] [--rate 100] [--quick] [--keep]
        [--connections 32] [--server-workers N] [--worker-pool prefork|threads] [--worker-concurrency N] [--worker-nice 10]
        [--server-conn-max-age 0] [--worker-conn-max-age 60] [--e2e-messages 1000] [--outbound-messages 2000] [--server uvicorn|daphne]
        [--no-status-webhooks]

Needs DATABASE_URL (PostgreSQL) and REDIS_URL, each a database of its own: it starts an ASGI
server and a Celery worker on them, creates and deletes a tenant of its own, and stops by itself.
What it measures and how: integrations/benchmark.py; the figures of a run: README, "Benchmark".
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from integrations.benchmark import (
    PHASES,
    Benchmark,
    BenchmarkError,
    Options,
    Shape,
    render,
    stale_benchmark_tenants_delete,
)


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


class Command(BaseCommand):
    help = ("Benchmark the WhatsApp Cloud pipeline (webhooks, processing, webhook-to-WebSocket latency, "
            "outbound sends) against an ASGI server + Celery worker + PostgreSQL + Redis on this machine.")

    def add_arguments(self, parser: CommandParser) -> None:
        cores = os.cpu_count() or 1
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
                            help="Outbound run without the simulator's sent/delivered/read webhooks (Meta sends "
                                 "them, so they are on by default).")
        parser.add_argument("--phases", type=_phases, default=",".join(sorted(PHASES)),
                            help="The phases to run, comma-separated (default all: baseline, webhooks, e2e, "
                                 "outbound); the rest are left out of the report.")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark tenant and its data.")
        parser.add_argument("--clean", action="store_true",
                            help="Only delete what earlier runs left behind (kept with --keep, or killed), then stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql" or not os.environ.get("DATABASE_URL"):
            raise CommandError("The benchmark runs in the production shape: set DATABASE_URL to a PostgreSQL "
                               "database of its own (e.g. postgres://postgres@127.0.0.1:5432/inbox_bench, "
                               "migrated first with `manage.py migrate`).")
        if not settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("The benchmark runs in the production shape: set REDIS_URL to a Redis database "
                               "of its own (e.g. redis://127.0.0.1:6379/9), with Celery not eager.")
        if options["clean"]:
            deleted = stale_benchmark_tenants_delete()
            self.stdout.write(f"Deleted {len(deleted)} benchmark tenant(s){': ' if deleted else '.'}{', '.join(deleted)}")
            return
        settings.DEBUG = False  # no query log growing in this process
        quick = options["quick"]
        duration = options["duration"] or (10.0 if quick else 60.0)
        run_options = Options(
            duration=duration, rate=options["rate"], quick=quick, connections=max(1, options["connections"]),
            e2e_messages=options["e2e_messages"] or (200 if quick else 1000),
            outbound_messages=options["outbound_messages"] or (300 if quick else 2000),
            baseline_seconds=options["baseline_seconds"] or min(15.0, duration), keep=options["keep"],
            outbound_status_webhooks=not options["no_status_webhooks"], phases=options["phases"],
            shape=Shape(server=options["server"], server_workers=max(1, options["server_workers"]),
                        worker_pool=options["worker_pool"], worker_concurrency=max(1, options["worker_concurrency"]),
                        server_conn_max_age=max(0, options["server_conn_max_age"]),
                        worker_conn_max_age=max(0, options["worker_conn_max_age"]),
                        worker_nice=max(0, min(19, options["worker_nice"]))),
        )
        # SIGTERM stops the run like Ctrl-C does: the processes it started are stopped, its data deleted.
        previous = signal.signal(signal.SIGTERM, self._interrupt)
        benchmark = Benchmark(run_options, write=self.stdout.write)
        try:
            report = benchmark.run()
        except BenchmarkError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            raise CommandError("Interrupted: the server and worker were stopped.") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        for line in render(report):
            self.stdout.write(line)

    @staticmethod
    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
