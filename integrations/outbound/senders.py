"""A channel's senders: tasks that send its waiting replies one after another, oldest first,
each claimed, sent and its result committed (integrations.outbound.send). A task per reply
cost more in Celery than the send itself.

A sender has a slot (0 .. OUTBOUND_SENDERS_PER_CHANNEL - 1) and drains the channel's replies
under that slot's lease (integrations.draining): a new reply queues sender 0 unless its lease
is held. A sender that finds more replies waiting behind the one it took, and did not have to
wait for the throughput cap, brings in the next slot's sender, so that a backlog is sent by
several worker processes at once (and a provider's latency is overlapped). A sender works for
OUTBOUND_SENDER_SECONDS at most, then a successor takes its slot at the back of the queue, so
that other work (stored webhooks) is not held up behind a long backlog. Sender 0 looks once more
after it let its lease go: a reply stored while it was ending is sent by it, or found the lease
free and queued a sender of its own. A sender that dies with its worker lets its lease run out
within seconds: the next reply queues another, and a worker that comes up queues one for
every channel with waiting replies (integrations.maintenance)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from conversations.services import messages_sending_expire
from integrations.channel_cache import channel_current
from integrations.draining import Lease, drain
from integrations.outbound.send import SendOutcome, reply_send_next
from integrations.registry import adapter_for

# How long a queued sender holds its slot (it may wait behind other work in the queue), and
# how long a running one holds it between two replies.
QUEUED_LEASE_SECONDS = 60
RUNNING_LEASE_SECONDS = 10


def sender_lease(channel_id: int, slot: int) -> Lease:
    return Lease(f"outbound:sender:{channel_id}:{slot}", queued_seconds=QUEUED_LEASE_SECONDS,
                 running_seconds=RUNNING_LEASE_SECONDS)


class SenderQueue(Protocol):
    """What a sender asks its task to queue while it works."""

    def helper(self, *, channel_id: int, slot: int) -> None: ...

    def retry(self, *, message_id: int, countdown: float) -> None: ...


@dataclass
class SenderRun:
    outcomes: list[SendOutcome] = field(default_factory=list)
    successor: bool = False  # its time ran out with replies left: queue a successor for the slot


def channel_senders_run(*, channel_id: int, slot: int = 0, helpers: bool = True, queue: SenderQueue) -> SenderRun:
    """The sender of `slot`: send the channel's waiting replies until none is left or its time
    is up. First the replies whose sender died mid-send (their claim ran out) are settled as
    "delivery unknown"."""
    lease = sender_lease(channel_id, slot)
    channel = channel_current(channel_id)
    run = SenderRun()
    if channel is None or adapter_for(channel) is None:
        lease.release()
        return run
    messages_sending_expire(channel_id=channel_id)
    adapter = adapter_for(channel)
    # A paced channel sends one at a time whatever the senders: helpers would only wait in turn.
    wants_helper = (helpers and slot + 1 < settings.OUTBOUND_SENDERS_PER_CHANNEL
                    and adapter is not None and adapter.send_pacing_seconds is None)

    def send_one() -> bool:
        nonlocal wants_helper
        outcome = reply_send_next(channel, more=wants_helper)
        if outcome is None:
            return False
        run.outcomes.append(outcome)
        if outcome.status == "retry":
            queue.retry(message_id=outcome.message_id, countdown=outcome.retry_in)
        if wants_helper and outcome.more_waiting and not outcome.waited:
            wants_helper = False
            queue.helper(channel_id=channel_id, slot=slot + 1)
        return True

    drained = drain(lease=lease, step=send_one, seconds=settings.OUTBOUND_SENDER_SECONDS, look_again=slot == 0)
    run.successor = drained.successor
    return run
