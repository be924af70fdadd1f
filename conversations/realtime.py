"""Real-time delivery of the domain events to agents' browsers and integrators.

`broadcast` is a domain-event listener: after commit it sends each event to its tenant's
group on the channel layer. Consumers (conversations.consumers) only check that their
member may see the event's channel and forward it. Every event carries its position in
the tenant's durable log (tenants.TenantEvent), so a client that reconnects asks for what
came after the last one it saw and gets exactly what it missed.

Clients see public ids only: a frame's "id" is the public id of the event's entry in the log,
its data the event's payload (public ids, no `*_pk`). What travels on the channel layer
beside a frame (`channel_pk`, `user_pk`: which sockets may see it) stays between processes."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from accounts.access import TenantAccess
from channels_app.selectors import channel_list
from conversations.models import Conversation
from tenants.events import DomainEvent
from tenants.models import TenantEvent
from tenants.scoping import tenant_context

# Commits can land slightly out of id order; a resume looks this far before its anchor
# and the client drops what it already has (by event id).
logger = logging.getLogger(__name__)

RESUME_OVERLAP = timedelta(seconds=30)
RESUME_LIMIT = 500
# Events of a batch sent to a tenant's sockets in one channel-layer message.
BROADCAST_CHUNK = 100
# Events that change who may see what: consumers re-read their member's access.
ACCESS_EVENTS = frozenset({"channel.created", "channel.archived", "channel.access_changed",
                           "membership.role_changed", "membership.removed", "membership.deactivated",
                           "tenant.status_changed", "tenant.two_factor_required", "api_key.revoked",
                           "user.logins_ended"})
# Events that only make sockets re-check their access: never sent to a client, live or replayed
# (an API key's revocation is the administrators' business, not every agent's).
INTERNAL_EVENTS = frozenset({"api_key.revoked", "user.logins_ended"})


def tenant_group(tenant_pk: int) -> str:
    return f"tenant.{tenant_pk}"


def event_frame(*, event_id: str | None, name: str, payload: dict[str, Any], at: str | None = None) -> dict[str, Any]:
    """What a client receives for one event (`event_id`: the public id of its log entry)."""
    return {"type": "event", "id": event_id, "name": name, "data": payload, "at": at}


class _SenderLoop:
    """One event loop in a daemon thread, with a connection of its own to the channel layer.

    Celery workers have no loop of their own: `async_to_sync` would start a loop, and the layer a
    new Redis connection, for every event sent; they `run` each send here and wait for it.
    Web processes `submit` theirs and go on: a request thread that waited for its send waited
    for the server's loop, which also serves the process's sockets (with hundreds open, a POST
    took several times as long). Submitted sends go out in their order, one at a time."""

    QUEUE_LIMIT = 10_000

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="channel-layer-sender", daemon=True).start()
        self.dropped = 0
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = self.run(self._start())
        atexit.register(self.close)

    def close(self) -> None:
        """Sends still queued go out (for a second at most), then the loop stops."""

        async def finish() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), 1.0)
            self._drainer.cancel()

        with contextlib.suppress(Exception):
            self.run(finish(), timeout=2.0)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def submit(self, group: str, message: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._put, group, message)

    def _put(self, group: str, message: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait((group, message))
        except asyncio.QueueFull:  # the layer is stuck: sockets resume from the durable log later
            self.dropped += 1
            if self.dropped % 1000 == 1:
                logger.warning("Real-time sends are not getting through: %d dropped", self.dropped)

    async def _start(self) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(self.QUEUE_LIMIT)
        self._drainer = asyncio.get_running_loop().create_task(self._drain(queue))
        return queue

    async def _drain(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        while True:
            group, message = await queue.get()
            try:
                await get_channel_layer().group_send(group, message)
            except Exception:
                logger.warning("A real-time send failed (sockets resume from the durable log)", exc_info=True)
            finally:
                queue.task_done()


_sender: _SenderLoop | None = None
# Web processes do not wait for their sends (see _SenderLoop).
_send_in_background = False


def use_sender_loop() -> None:
    """Called in each worker process (Celery's worker_process_init): send events from a
    long-lived loop, and wait for each."""
    global _sender, _send_in_background
    _sender, _send_in_background = _SenderLoop(), False


def use_background_sender() -> None:
    """Called once by the ASGI application of a web process: with a shared channel layer
    (Redis), events are sent from a loop of their own, off the request's path. The in-memory
    layer lives in the server's loop and is left to it."""
    global _sender, _send_in_background
    if _shared_layer(get_channel_layer()):
        _sender, _send_in_background = _SenderLoop(), True


def _shared_layer(layer: Any) -> bool:
    return layer is not None and type(layer).__module__.startswith("channels_redis")


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # The in-memory layer lives in the web process's own loop: only a shared layer (Redis)
    # can be reached from another loop.
    if _sender is not None and _shared_layer(layer):
        if _send_in_background:
            _sender.submit(group, message)
        else:
            _sender.run(layer.group_send(group, message))
    else:
        async_to_sync(layer.group_send)(group, message)


def _item(event: DomainEvent) -> dict[str, Any]:
    """An event on the channel layer: its frame, and the channel whose members may see it
    (none: every member of the tenant)."""
    return {"frame": event_frame(event_id=event.event_id, name=event.name, payload=event.payload()),
            "channel_pk": getattr(event, "channel_pk", None)}


def broadcast(event: DomainEvent) -> None:
    _group_send(tenant_group(event.tenant_pk), {"type": "inbox.event", **_item(event)})


def broadcast_many(events: list[DomainEvent]) -> None:
    """broadcast() for a batch: one message per tenant on the channel layer."""
    items: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        items.setdefault(event.tenant_pk, []).append(_item(event))
    for tenant_pk, tenant_items in items.items():
        for start in range(0, len(tenant_items), BROADCAST_CHUNK):
            _group_send(tenant_group(tenant_pk),
                        {"type": "inbox.events", "items": tenant_items[start:start + BROADCAST_CHUNK]})


broadcast.many = broadcast_many  # type: ignore[attr-defined]


def broadcast_typing(*, access: TenantAccess, conversation_id: uuid.UUID, channel_pk: int, sender: str = "") -> None:
    """`sender`: the channel name of the socket that typed (which does not hear its own typing)."""
    _group_send(
        tenant_group(access.tenant_id),
        {"type": "inbox.typing", "channel_pk": channel_pk, "user_pk": access.user.pk, "sender": sender,
         "frame": {"type": "typing", "conversation_id": str(conversation_id),
                   "user": {"id": str(access.user.public_id), "name": access.user.get_full_name()}}},
    )


def broadcast_presence(*, tenant_pk: int, channel_pk: int, conversation_id: str, state: str) -> None:
    """A contact typing or recording in a conversation (or no longer): to the sockets of the
    channel's members, as agents' typing is, and nowhere else (nothing is logged)."""
    _group_send(
        tenant_group(tenant_pk),
        {"type": "inbox.presence", "channel_pk": channel_pk,
         "frame": {"type": "presence", "conversation_id": conversation_id, "state": state}},
    )


def visible_channel_ids(*, access: TenantAccess) -> frozenset[int]:
    with tenant_context(access.tenant):
        return frozenset(channel_list(access=access, include_archived=True).values_list("pk", flat=True))


def conversation_channel_pk(*, access: TenantAccess, conversation_id: uuid.UUID) -> int | None:
    """The channel of a conversation (by its public id) this member may see, or None."""
    with tenant_context(access.tenant):
        channel_pk = Conversation.objects.filter(public_id=conversation_id).values_list("channel_id", flat=True).first()
    return channel_pk if channel_pk in visible_channel_ids(access=access) else None


def latest_event_id(*, tenant_id: int) -> str:
    """The public id of the tenant's latest event ("" before its first): where a page that
    renders now resumes from."""
    latest = TenantEvent.all_objects.filter(tenant_id=tenant_id).order_by("-id").values_list(
        "public_id", flat=True).first()
    return str(latest) if latest else ""


def events_after(*, access: TenantAccess, after: uuid.UUID | None) -> list[dict[str, Any]] | None:
    """The events this member may see from just before the event `after` (a public id; None:
    from the start of the log) on, oldest first; None when `after` is unknown or too much was
    missed (the client then reloads what it shows)."""
    events = TenantEvent.all_objects.filter(tenant_id=access.tenant_id)
    if after is not None:
        anchor = events.filter(public_id=after).values_list("created_at", flat=True).first()
        if anchor is None:
            return None
        events = events.filter(created_at__gte=anchor - RESUME_OVERLAP)
    rows = list(events.exclude(name__in=INTERNAL_EVENTS).order_by("id")[: RESUME_LIMIT + 1])
    if len(rows) > RESUME_LIMIT:
        return None
    visible = visible_channel_ids(access=access)
    return [
        event_frame(event_id=str(row.public_id), name=row.name, payload=row.payload, at=row.created_at.isoformat())
        for row in rows
        if row.channel_id is None or row.channel_id in visible
    ]



def broadcast_notice(*, tenant_pk: int, user_pk: int, unread: int, label: str, title: str) -> None:
    """A notice sent to a member (accounts.notices): to their own inbox sockets, for the bell's
    count (nothing is logged: the page's count is read again on every load)."""
    _group_send(
        tenant_group(tenant_pk),
        {"type": "inbox.notice", "user_pk": user_pk, "frame": {"type": "notice", "unread": unread, "label": label, "title": title}},
    )
