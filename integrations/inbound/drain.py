"""A web process's stored webhooks, drained by one task at a time (integrations.draining).

A web process stores webhooks one batch after another (the ingress's group commits), and
needs one processing task at a time, not one per batch: the task takes up what the process
stores while it waits in the queue and while it runs, batch after batch (a task per stored
batch cost more in Celery, queueing and starting it, than processing the batch). The
process's lease (`process_lease`) says that a task is queued or running.

Which waiting webhooks a batch takes: the first batch of every task reads from the oldest
waiting webhook, so that nothing waits below where other tasks read (the webhooks of a task
that died with its worker, a store that committed late). Its later batches read from the
lowest id its chain took at least LATE_COMMIT_SECONDS ago (`checkpoints`, handed to each
successor): through the partial index, every webhook processed since would otherwise be
stepped over again on every batch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from integrations.draining import Lease, drain
from integrations.inbound.process import webhook_events_batch

# How long a queued task holds a process's lease before it is taken for lost, and how long a
# running one holds it between two batches.
QUEUED_LEASE_SECONDS = 10
RUNNING_LEASE_SECONDS = 5
# A task drains this long at most, then a successor takes its turn at the back of the queue.
DRAIN_SECONDS = 2.0
# A store commits within this long of drawing its ids (one INSERT of at most a few hundred
# bodies). A store slower than that is taken up by the next task's first batch.
LATE_COMMIT_SECONDS = 10.0

_PROCESS_LEASE_KEY = f"webhooks:queued:{uuid.uuid4().hex}"


def webhook_lease(key: str) -> Lease:
    return Lease(key, queued_seconds=QUEUED_LEASE_SECONDS, running_seconds=RUNNING_LEASE_SECONDS)


def process_lease() -> Lease:
    """This web process's lease: a task is queued or running for what it stores."""
    return webhook_lease(_PROCESS_LEASE_KEY)


@dataclass(frozen=True)
class WebhooksDrained:
    successor: bool
    checkpoints: list[tuple[float, int]]  # (when, lowest id taken), for the successor


def webhook_events_drain(*, event_ids: Sequence[int], lease_key: str,
                         checkpoints: Sequence[tuple[float, int]] | None = None) -> WebhooksDrained:
    """The task of a web process's webhooks: its own, then what waits, batch after batch,
    while the lease is held (see the module); whether a successor must take over."""
    taken_at = list(checkpoints or [(time.time(), min(event_ids) - 1 if event_ids else 0)])
    own = list(event_ids)
    first = True

    def batch() -> bool:
        nonlocal own, first
        settled = time.time() - LATE_COMMIT_SECONDS
        while len(taken_at) > 1 and taken_at[1][0] <= settled:
            taken_at.pop(0)
        taken = webhook_events_batch(own, always=True, floor=0 if first else taken_at[0][1])
        own, first = [], False
        if taken and taken_at[-1][0] < time.time() - 1:  # a checkpoint a second is plenty
            taken_at.append((time.time(), min(taken) - 1))
        return bool(taken)

    drained = drain(lease=webhook_lease(lease_key), step=batch, seconds=DRAIN_SECONDS)
    return WebhooksDrained(successor=drained.successor, checkpoints=taken_at)
