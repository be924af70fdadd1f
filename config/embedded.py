"""Celery beat and delayed tasks for the embedded default (`make run`: no broker, tasks run
eagerly in the web process), where nothing else would run them: one daemon thread runs the
tasks of CELERY_BEAT_SCHEDULE at their intervals (the sweep that takes up waiting replies, the
connection checks...) and the tasks asked for later (`later`: a reply's retry after its backoff,
which an eager task cannot wait for).

Started by the ASGI application when EMBEDDED_SCHEDULER is on (the embedded default's
settings); never in a deployment with a broker, where Celery's own beat and workers do this."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

# As Celery beat runs a schedule's tasks when it starts, the first round runs soon after the
# server does (what the channels' providers say of them now), once `make run`'s simulators are up.
FIRST_ROUND_SECONDS = 15.0


class Scheduler:
    """Calls due at moments (time.monotonic), run one after another on one daemon thread."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], Any]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._wake:
            if self.running:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="embedded-scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop once the call running now (if any) ends; what was due is dropped."""
        with self._wake:
            self._stopping = True
            self._due.clear()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def later(self, seconds: float, call: Callable[[], Any]) -> None:
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + max(0.0, seconds), next(self._order), call))
            self._wake.notify()

    def every(self, seconds: float, call: Callable[[], Any], *, first: float | None = None) -> None:
        """`call` every `seconds`, the first time after `first` (default: `seconds`)."""

        def again() -> None:
            try:
                call()
            finally:
                self.later(seconds, again)

        again.__qualname__ = getattr(call, "__qualname__", repr(call))
        self.later(seconds if first is None else first, again)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    self._wake.wait(timeout=self._due[0][0] - time.monotonic() if self._due else None)
                if self._stopping:
                    return
                _moment, _order, call = heapq.heappop(self._due)
            close_old_connections()
            try:
                call()
            except Exception:  # one task's failure never stops the others
                logger.exception("embedded scheduler: %s failed", getattr(call, "__qualname__", call))
            finally:
                close_old_connections()


scheduler = Scheduler()


def later(seconds: float, call: Callable[[], Any]) -> bool:
    """Run `call` in `seconds` on the embedded scheduler, if it runs in this process; whether it
    will (False: the caller does what it does without one)."""
    if not scheduler.running:
        return False
    scheduler.later(seconds, call)
    return True


def _task_run(task: Any, kwargs: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        return task.apply(kwargs=kwargs)

    run.__qualname__ = task.name
    return run


def start() -> None:
    """Start the scheduler with Celery beat's schedule (each task run eagerly, in this process)."""
    from config.celery_app import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        scheduler.every(float(entry["schedule"]), _task_run(app.tasks[entry["task"]], dict(entry.get("kwargs") or {})),
                        first=min(FIRST_ROUND_SECONDS, float(entry["schedule"])))
    scheduler.start()
    logger.info("embedded scheduler: %s", ", ".join(f"{name} every {float(entry['schedule']):.0f} s"
                                                    for name, entry in settings.CELERY_BEAT_SCHEDULE.items()))
