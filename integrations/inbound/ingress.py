"""Provider webhooks answered in front of Django's request stack.

`POST /webhooks/<kind>/<token>` is the hottest path there is: a provider delivers every
message and every status there, and retries (or eventually disables the webhook) when
answers are slow. This ASGI layer answers it in the server's event loop: the channel behind
the token comes from the per-process channel cache, the body is verified by the channel's
adapter, and stored through `webhook_events_store` together with whatever else this process
received meanwhile (one INSERT and one commit for all of them: a group commit), before anyone
is answered 200. Processing is queued after the answers, and only when no task of this
process is queued or running already (integrations.inbound.drain).

Everything else on those URLs (a provider's GET handshake) and every other request goes to
Django unchanged; the Django view (integrations.inbound.views) stays the same endpoint for
WSGI and the test client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.datastructures import CaseInsensitiveMapping

from channels_app.kinds import kind_of
from channels_app.models import Channel
from config.logs import log_context, request_id_from
from config.metrics import webhook_received_count, webhook_refused_count
from integrations.base import WebhookRejected
from integrations.channel_cache import webhook_channel, webhook_channel_remembered
from integrations.inbound.store import webhook_events_store, webhook_verify
from integrations.inbound.tasks import webhook_events_queue

logger = logging.getLogger(__name__)

WEBHOOK_PATH = re.compile(r"/webhooks/(?P<kind>[-a-zA-Z0-9_]+)/(?P<token>[^/]+)")
# At most this many bodies go into one INSERT, and this many INSERTs are in flight at once
# per process. One: on a busy machine, fewer and larger batches cost less CPU per webhook
# than keeping a second INSERT in flight while the first commits (measured both ways).
MAX_BATCH = 200
MAX_WRITERS = 1

Scope = dict[str, Any]
# A refusal's reason (the metric's label) by its status.
_REASONS = {400: "bad_request", 401: "invalid_signature", 404: "unknown_webhook", 413: "payload_too_large",
            503: "unavailable"}


def kind_label(kind: str) -> str:
    """A webhook URL's kind as a metric's label: a registered kind, else "unknown" (the URL is
    the caller's to write)."""
    return kind if kind_of(kind).available else "unknown"


def _json(status: int, code: str, message: str) -> tuple[int, bytes, str]:
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    return status, body, "application/json"


def _lookup(kind: str, token: str) -> Channel | None:
    try:
        return webhook_channel(kind=kind, token=token)
    finally:
        close_old_connections()


def _store(rows: list[tuple[Channel, bytes, str]], answer: Callable[[list[int]], None]) -> None:
    """In the writer thread: store a batch, have it answered, then queue its processing.
    Keeping the queueing here (no thread of its own) saves a thread hop per batch, and the
    answers do not wait for it. The thread keeps its database connection from batch to batch
    (as a process keeps its connection for its requests): one that failed is closed, and the
    next batch takes a fresh one."""
    try:
        event_ids = webhook_events_store(rows)
    except Exception:
        connection.close()
        raise
    answer(event_ids)
    # Coalesced: this process stores one batch after another (one writer), so a task still
    # waiting in the queue, or running, takes up the later batches too.
    webhook_events_queue(event_ids, coalesce=MAX_WRITERS == 1)
    if connection.errors_occurred:  # (eager tasks, the embedded default, processed the batch here)
        connection.close()


def _resolve(futures: list[asyncio.Future[int]], event_ids: list[int]) -> None:
    for future, event_id in zip(futures, event_ids, strict=True):
        if not future.done():
            future.set_result(event_id)


class WebhookIngress:
    """ASGI middleware around the product's HTTP application."""

    def __init__(self, app: Any) -> None:
        self.app = app
        # Off the event loop and apart from the threads that serve Django's views: these
        # threads write (and queue the processing), others look channels up (so that a flood
        # of unknown URLs cannot delay the writes).
        self.database = ThreadPoolExecutor(max_workers=MAX_WRITERS, thread_name_prefix="webhook-ingress-db")
        self.lookups = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook-ingress-lookup")
        self.pending: list[tuple[Channel, bytes, str, asyncio.Future[int]]] = []
        self.writers = 0
        self.writer_tasks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        """Let the writer thread's database connection go, and the threads (for a test, or a
        server's shutdown)."""
        self.database.submit(lambda: connection.close()).result(timeout=30)  # in that thread: its own
        for executor in (self.database, self.lookups):
            executor.shutdown(wait=True)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        match = WEBHOOK_PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST" or not settings.WEBHOOK_INGRESS:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(next((value.decode("latin-1") for name, value in scope["headers"]
                                           if name == b"x-request-id"), ""))
        with log_context(request_id=request_id):
            status, body, content_type = await self.accept(scope, receive, **match.groupdict())
        if status == 200:
            webhook_received_count(kind=kind_label(match["kind"]))
        else:
            webhook_refused_count(kind=kind_label(match["kind"]) if status not in (404, 400, 413) else "unknown",
                                  reason=_REASONS.get(status, str(status)))
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                   (b"x-request-id", request_id.encode())]
        if status == 503:
            headers.append((b"retry-after", b"5"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def accept(self, scope: Scope, receive: Any, *, kind: str, token: str) -> tuple[int, bytes, str]:
        headers = CaseInsensitiveMapping({name.decode("latin-1"): value.decode("latin-1")
                                          for name, value in scope["headers"]})
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        declared = headers.get("content-length") or "0"
        if not declared.isdigit():
            return _json(400, "bad_request", "Invalid Content-Length.")
        if int(declared) > limit:
            return _json(413, "payload_too_large", "Body too large.")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400, b"", "text/plain"
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return _json(413, "payload_too_large", "Body too large.")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            channel = await self.channel(kind, token)
        except Exception:
            logger.exception("webhook channel lookup failed")
            return _json(503, "unavailable", "Try again shortly.")
        if channel is None:
            return _json(404, "not_found", "Unknown webhook.")
        try:
            proof = webhook_verify(channel=channel, body=body, headers=headers)
        except WebhookRejected as rejected:
            return _json(401, "invalid_signature", str(rejected))
        try:
            await self.store(channel, body, proof)
        except Exception:
            logger.exception("webhook of channel %s not stored", channel.pk,
                             extra={"tenant_id": channel.tenant_id, "channel_id": channel.pk})
            return _json(503, "unavailable", "Not stored; try again shortly.")
        return 200, b"ok", "text/plain"

    async def channel(self, kind: str, token: str) -> Channel | None:
        """The live channel of a webhook URL: from the process's channel cache when it is
        remembered (an archived channel, or a new secret, applies within
        WEBHOOK_CHANNEL_CACHE_SECONDS), else read in a lookup thread."""
        remembered, channel = webhook_channel_remembered(kind, token)
        if remembered:
            return channel
        return await asyncio.get_running_loop().run_in_executor(self.lookups, _lookup, kind, token)

    async def store(self, channel: Channel, body: bytes, proof: str) -> int:
        """Stored (committed) when this returns; bodies arriving while batches are being
        written go into the next one together."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.pending.append((channel, body, proof, future))
        if self.writers < MAX_WRITERS:
            self.writers += 1
            writer = loop.create_task(self._drain())
            self.writer_tasks.add(writer)  # the loop keeps only a weak reference to a task
            writer.add_done_callback(self.writer_tasks.discard)
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                rows = [(channel, body, proof) for channel, body, proof, _ in batch]
                futures = [future for *_, future in batch]

                def answer(event_ids: list[int], futures: list[asyncio.Future[int]] = futures) -> None:
                    loop.call_soon_threadsafe(_resolve, futures, event_ids)

                try:
                    await loop.run_in_executor(self.database, _store, rows, answer)
                except Exception as error:
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
        finally:
            self.writers -= 1
