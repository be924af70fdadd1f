"""The one protocol by which a task drains work that keeps arriving: stored webhooks
(integrations.inbound.drain) and a channel's waiting replies (integrations.outbound.senders).

Work arrives faster than a task per item can be queued and started (a task per webhook or per
reply cost more in Celery than the work itself), so one task at a time drains a stream of it,
and whoever adds work queues a task only when none is queued or running. A **lease** in the
shared cache says that one is: taken when a task is queued (it lives `queued_seconds`, room to
wait in the broker's queue), renewed by the running task after each step (it then lives
`running_seconds`). A task that dies with its worker lets its lease run out within seconds, and
the next piece of work queues a new task: a lost worker's work is taken up as soon as a worker
is there to take it, without waiting for the sweep.

`drain` runs the steps while they find work. When one finds none, the lease goes, and the task
looks once more: work added just before the lease went found it held and queued nothing. After
`seconds`, the task stops and hands the lease over to a successor that its caller queues at the
back of the queue, so that other work gets its turn."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from config.cache import mark_add, mark_delete, mark_set

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    key: str
    queued_seconds: int
    running_seconds: int

    def take(self) -> bool:
        """For queueing a task: whether none was queued or running (the lease is now its).
        Without the cache, every caller queues a task (the work's own locks keep them apart)."""
        try:
            return mark_add(self.key, self.queued_seconds)
        except Exception:
            logger.warning("lease %s unavailable: a task for every caller", self.key, exc_info=True)
            return True

    def seize(self) -> None:
        """For queueing a task whatever the lease says (a worker came up: the task that holds it
        may have died with its worker; two tasks at once are safe, only wasteful)."""
        with contextlib.suppress(Exception):
            mark_set(self.key, self.queued_seconds)

    def hold(self) -> None:
        """Running: renew it for running_seconds."""
        with contextlib.suppress(Exception):
            mark_set(self.key, self.running_seconds)

    def retake(self) -> bool:
        """After letting it go: take it back to go on, unless a new task was queued meanwhile."""
        try:
            return mark_add(self.key, self.running_seconds)
        except Exception:
            return True

    def hand_over(self) -> None:
        """A successor is about to be queued: the lease lives long enough for its wait."""
        with contextlib.suppress(Exception):
            mark_set(self.key, self.queued_seconds)

    def release(self) -> None:
        with contextlib.suppress(Exception):
            mark_delete(self.key)


@dataclass(frozen=True)
class Drained:
    steps: int  # steps that found work
    successor: bool  # time ran out with work left: queue a successor (it holds the lease)


def drain(*, lease: Lease, step: Callable[[], bool], seconds: float, look_again: bool = True) -> Drained:
    """Run `step` (one batch of work: whether it found any) while it finds work, holding
    `lease`, for at most `seconds` (see the module). `look_again`: after letting the lease go,
    look once more (the one task that everyone else relies on must; helpers need not)."""
    lease.hold()
    deadline = time.monotonic() + seconds
    # Renewed a few times per running_seconds, not after every step (a round trip to Redis each).
    renew_every, held_at = lease.running_seconds / 3, time.monotonic()
    holding, steps = True, 0
    try:
        while True:
            if not step():
                if not holding or not look_again:
                    if holding:
                        lease.release()
                    return Drained(steps=steps, successor=False)
                lease.release()
                holding = False
                continue  # one more look
            steps += 1
            if not holding:
                if not lease.retake():
                    return Drained(steps=steps, successor=False)  # a new task goes on from here
                holding, held_at = True, time.monotonic()
            elif time.monotonic() - held_at >= renew_every:
                lease.hold()
                held_at = time.monotonic()
            if time.monotonic() >= deadline:
                lease.hand_over()
                return Drained(steps=steps, successor=True)
    except BaseException:
        if holding:  # what arrives from now on queues a task of its own
            lease.release()
        raise
