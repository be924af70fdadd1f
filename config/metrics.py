"""The Prometheus metrics of the inbox, and the functions the code counts with.

Counting is cheap on purpose (an increment in memory, or in a memory-mapped file in
multiprocess mode): no database query and no network round trip on any hot path. What must be
read from elsewhere (the Celery queues' depth) is read when /metrics is scraped.

Several processes: the ASGI server's workers and Celery's worker processes each count their
own. With PROMETHEUS_MULTIPROC_DIR set in every process's environment (a directory they all
share, emptied before they start), prometheus_client writes each process's counts there and a
scrape of any web worker adds them all up (its multiprocess mode). Without it each process keeps
its own counts and a scrape shows the answering process's alone: fine for one process (the
embedded default), misleading for several.

The names (`inbox_*`) and labels are documented in docs/deployment.md. Labels take bounded
values only (a route's name, a channel kind, an outcome), never a raw path or an id."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from typing import Any

# prometheus_client takes the variable's presence for multiprocess mode: set but empty, it would
# write its files into the working directory. Empty means off here, as it reads.
for _name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
    if _name in os.environ and not os.environ[_name]:
        del os.environ[_name]

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds; from a fast API answer to a slow page (Prometheus' defaults, with 25 ms and 250 ms).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "") or os.environ.get("prometheus_multiproc_dir", "")


http_requests = Counter(
    "inbox_http_requests", "HTTP requests answered by Django, by method, route name and status.",
    ["method", "route", "status"])
http_request_seconds = Histogram(
    "inbox_http_request_duration_seconds", "Time to answer an HTTP request (Django's stack), by method, "
    "route name and status.", ["method", "route", "status"], buckets=LATENCY_BUCKETS)
webhooks_received = Counter(
    "inbox_webhooks_received", "Provider webhook deliveries stored, by channel kind.", ["kind"])
webhooks_refused = Counter(
    "inbox_webhooks_refused", "Provider webhook deliveries refused, by channel kind (unknown when no live channel "
    "was found) and reason.", ["kind", "reason"])
outbound_sends = Counter(
    "inbox_outbound_sends", "Replies handed to a provider, by channel kind and outcome (sent, failed, unknown: "
    "delivery unknown, retry: refused for now and retried after a backoff).", ["kind", "outcome"])
outbound_send_seconds = Histogram(
    "inbox_outbound_send_duration_seconds", "Time a provider took to answer a send, by channel kind.",
    ["kind"], buckets=LATENCY_BUCKETS)
webhook_deliveries = Counter(
    "inbox_webhook_deliveries", "Outbound webhook deliveries to integrators' endpoints, by outcome "
    "(delivered, failed, retry, refused...).", ["outcome"])
webhook_delivery_seconds = Histogram(
    "inbox_webhook_delivery_duration_seconds", "Time an integrator's endpoint took to answer a delivery.",
    buckets=LATENCY_BUCKETS)
task_retries = Counter(
    "inbox_task_retries", "Celery tasks put back on their queue to be tried again (a broker or database "
    "hiccup, a provider's backoff), by task.", ["task"])
task_failures = Counter(
    "inbox_task_failures", "Celery tasks that raised and will not be retried, by task.", ["task"])
websocket_connections = Gauge(
    "inbox_websocket_connections", "Open, authenticated WebSockets, by endpoint (inbox: agents' browsers, "
    "events: integrators).", ["endpoint"], multiprocess_mode="livesum")


def http_request_count(*, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in HTTP_METHODS else "other"
    labels = (method, route, str(status))
    http_requests.labels(*labels).inc()
    http_request_seconds.labels(*labels).observe(seconds)


def webhook_received_count(*, kind: str) -> None:
    webhooks_received.labels(kind).inc()


def webhook_refused_count(*, kind: str, reason: str) -> None:
    webhooks_refused.labels(kind, reason).inc()


def outbound_send_count(*, kind: str, outcome: str, seconds: float | None = None) -> None:
    outbound_sends.labels(kind, outcome).inc()
    if seconds is not None:
        outbound_send_seconds.labels(kind).observe(seconds)


def count_webhook_delivery(outcome: str, seconds: float | None = None) -> None:
    """An outbound webhook delivery's outcome (`delivered`, `failed`, `retry`, `refused`,
    `disabled`...) and, when the endpoint answered, how long it took: for the outbound webhooks'
    sender to call after each attempt."""
    webhook_deliveries.labels(outcome).inc()
    if seconds is not None:
        webhook_delivery_seconds.observe(seconds)


def task_retry_count(*, task: str) -> None:
    task_retries.labels(task).inc()


def task_failure_count(*, task: str) -> None:
    task_failures.labels(task).inc()


def websocket_opened(endpoint: str) -> None:
    websocket_connections.labels(endpoint).inc()


def websocket_closed(endpoint: str) -> None:
    websocket_connections.labels(endpoint).dec()


class QueueDepthCollector(Collector):
    """Messages waiting in each Celery queue, read from the broker at scrape time: the length of
    the queue's lists on Redis, a passive declare on RabbitMQ. Nothing when tasks run eagerly (the
    embedded default has no queue)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.conf import settings

        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        depth = GaugeMetricFamily("inbox_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"])
        up = GaugeMetricFamily("inbox_broker_up", "Whether the Celery broker answered the last scrape.")
        try:
            for name, size in queue_depths().items():
                depth.add_metric([name], size)
        except Exception as error:  # a scrape reports the broker away, it does not fail
            logger.warning("queue depth not read: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield depth
        yield up

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


def queue_depths() -> dict[str, int]:
    from celery import current_app as app  # config.celery_app's (config/__init__ makes it current)
    from django.conf import settings

    names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    sizes: dict[str, int] = {}
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        for name in names:
            channel: Any = connection.channel()
            try:
                size = getattr(channel, "_size", None)  # kombu's virtual transports (Redis): its lists' length
                sizes[name] = int(size(name)) if size else int(channel.queue_declare(queue=name, passive=True)
                                                               .message_count)
            except Exception as error:
                if "NOT_FOUND" not in str(error) and "404" not in str(error):
                    raise
                sizes[name] = 0  # not declared yet: nothing waits in it
            finally:
                channel.close()
    return sizes


_queues = CollectorRegistry(auto_describe=False)
_queues.register(QueueDepthCollector())


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def _forget_dead_processes(directory: str) -> None:
    """A process that died (a worker restarted) leaves its gauges' file: its open sockets would
    count for ever. Processes share the directory on one machine, so whether one lives is known."""
    for pid in {int(found[1]) for name in os.listdir(directory) if (found := _LIVE_GAUGE_FILE.fullmatch(name))}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, another user's


def metrics_exposition() -> bytes:
    """The text a scrape gets: every process's counts (multiprocess mode) or this process's,
    and the queues' depth."""
    if multiprocess_dir():
        _forget_dead_processes(multiprocess_dir())
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_queues)
