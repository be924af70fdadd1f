"""A real Celery worker killed in the middle of a send (SIGKILL, against the Graph API
simulator, on PostgreSQL and Redis): no transaction was open across the provider's call, the
reply is never sent twice, the agent sees what became of it, and what waited is sent as soon as
a worker is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from config.celery_app import app as celery_app
from conversations.models import Message
from conversations.services import DELIVERY_UNKNOWN
from integrations.whatsapp_cloud.simulator import GraphSimulator
from tests.integrations.whatsapp_cloud.conftest import APP_SECRET, pending_reply

ROOT = Path(__file__).resolve().parents[3]
LEASE_SECONDS = 3

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
                       or not settings.CELERY_BROKER_URL.startswith("redis"),
                       reason="a real worker on PostgreSQL and Redis (CI runs it: .ci/run sets DATABASE_URL, REDIS_URL)"),
]


def _wait_until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def simulator() -> Iterator[GraphSimulator]:
    with GraphSimulator(status_progression=()) as graph:
        graph.add_number("100000000000002", token="EAAG-test-token", app_secret=APP_SECRET,
                         waba_id="100000000000001")
        yield graph


@pytest.fixture
def workers(simulator: GraphSimulator) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """start() → a Celery worker (prefork, one child) in a process group of its own, on this
    test's database and Redis, talking to the simulator. Every one is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    database = connection.settings_dict
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
                        f"{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false", "LOG_LEVEL": "WARNING",
        "WHATSAPP_GRAPH_API_URL": simulator.base_url, "WHATSAPP_GRAPH_API_VERSION": simulator.version,
        "OUTBOUND_SEND_LEASE_SECONDS": str(LEASE_SECONDS), "DB_POOL": "false", "PYTHONPATH": str(ROOT),
    }

    def start() -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "-c", "1", "-Q",
             "celery,webhooks", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        _kill(worker)


def _kill(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool's child, as an OOM killer would
        worker.wait(timeout=10)


def _send_to_the_broker(task: str, **kwargs: Any) -> None:
    """Queue a task on the real broker (the suite runs tasks eagerly otherwise)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "task_always_eager has no effect on send_task": the point here
        celery_app.send_task(task, kwargs=kwargs)


def _wait_for_the_send(simulator: GraphSimulator, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not simulator.wait_for_sends(1, timeout=0.2):
        if worker.poll() is not None:
            raise AssertionError(f"the worker stopped: {worker.stderr.read().decode()[-3000:] if worker.stderr else ''}")
        assert time.monotonic() < deadline, "the worker never sent the reply"


def test_a_worker_killed_mid_send_never_sends_twice_and_the_agent_sees_it(simulator, workers, conversation,
                                                                           whatsapp):
    interrupted = pending_reply(conversation, content="enviando quando o worker caiu")
    simulator.hold_sends(60)  # Meta takes the message, and its answer never arrives
    first = workers()
    _send_to_the_broker("integrations.tasks.channel_deliver", channel_id=whatsapp.pk, slot=0)
    _wait_for_the_send(simulator, first)

    # In the middle of the call: the claim is committed, no transaction holds the row.
    claimed = Message.all_objects.get(pk=interrupted.pk)
    assert claimed.status == Message.Status.PENDING and claimed.send_lease_until is not None
    waiting = pending_reply(conversation, content="escrita enquanto o worker caía")
    _kill(first)
    simulator.hold_sends(0)

    time.sleep(LEASE_SECONDS + 0.5)  # the dead sender's claim runs out
    workers()  # a worker comes back: it takes up what waits by itself

    _wait_until("the waiting reply to be sent",
                lambda: Message.all_objects.get(pk=waiting.pk).status == Message.Status.SENT)
    _wait_until("the interrupted reply to be settled",
                lambda: Message.all_objects.get(pk=interrupted.pk).status == Message.Status.FAILED)
    interrupted.refresh_from_db()
    assert interrupted.error_code == DELIVERY_UNKNOWN and interrupted.send_lease_until is None
    contents = [record["body"]["text"]["body"] for record in simulator.sent]
    assert sorted(contents) == sorted(["enviando quando o worker caiu", "escrita enquanto o worker caía"])
