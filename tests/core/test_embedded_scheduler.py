"""The embedded default's scheduler (config.embedded): Celery beat's schedule and delayed retries
run in the web process, where eager tasks cannot wait. Without it a reply whose provider was
away stayed "pending" until another reply woke its channel's sender up."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from config import embedded
from tests.integrations.whatsapp_cloud.conftest import conversation, graph, whatsapp  # noqa: F401 (fixtures)


@pytest.fixture
def scheduler(monkeypatch):
    running = embedded.Scheduler()
    running.start()
    monkeypatch.setattr(embedded, "scheduler", running)
    yield running
    running.stop()


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_call_runs_later_in_order_and_a_failure_stops_nothing(scheduler):
    ran: list[str] = []
    done = threading.Event()
    scheduler.later(0.2, lambda: (ran.append("second"), done.set()))
    scheduler.later(0.05, lambda: 1 / 0)
    scheduler.later(0.1, lambda: ran.append("first"))

    assert done.wait(5) and ran == ["first", "second"]


def test_every_repeats(scheduler):
    ticks: list[float] = []
    scheduler.every(0.05, lambda: ticks.append(time.monotonic()))

    assert _wait_for(lambda: len(ticks) >= 3, 5)


def test_without_it_later_says_so():
    assert embedded.later(0, lambda: None) is embedded.scheduler.running


def test_the_beat_schedule_runs_its_tasks(scheduler, settings, monkeypatch):
    from integrations import tasks

    calls = threading.Event()
    monkeypatch.setattr(tasks, "channels_connection_check_all", lambda: calls.set() or 0)
    settings.CELERY_BEAT_SCHEDULE = {"check": {"task": "integrations.tasks.channels_connection_check",
                                               "schedule": 0.05}}

    embedded.start()

    assert calls.wait(5)


@pytest.mark.django_db(transaction=True)
def test_a_reply_whose_provider_was_away_goes_out_after_its_backoff_by_itself(scheduler, graph, conversation,
                                                                                 settings, member):
    from accounts.models import Role
    from conversations.models import Message
    from conversations.services import message_send

    agent = member(conversation.tenant, Role.AGENT, channels=(conversation.channel,)).user
    working = settings.WHATSAPP_GRAPH_API_URL
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.WHATSAPP_GRAPH_API_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"

    reply, _ = message_send(conversation=conversation, actor=agent, content="Já verifico!")

    reply.refresh_from_db()
    assert reply.status == Message.Status.PENDING and reply.error_code == "connection"  # says why, at once
    settings.WHATSAPP_GRAPH_API_URL = working  # the provider is back; nothing else happens in the inbox

    assert _wait_for(lambda: Message.all_objects.get(pk=reply.pk).status == Message.Status.SENT, 20)
    assert len(graph.sent) == 1
