"""The embedded default's scheduler (config.embedded): Celery beat's schedule and delayed retries
run in the web process, where eager tasks cannot wait. Without it a reply whose provider was
away stayed "pending" until another reply woke its channel's sender up."""

from __future__ import annotations

import threading
import time

import pytest

from config import embedded
from tests.concurrency import wait_for as _wait_for


@pytest.fixture
def scheduler(embedded_scheduler):
    return embedded_scheduler


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


def test_the_first_round_can_come_sooner_than_the_period(scheduler):
    ran = threading.Event()
    scheduler.every(3600, ran.set, first=0.05)  # as beat does when it starts

    assert ran.wait(5)
