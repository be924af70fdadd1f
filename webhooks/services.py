"""Outbound webhooks: endpoints (register, change, delete, rotate the secret, disable, enable),
the deliveries events make, and sending them: at least once, in order per conversation,
retried with exponential backoff and jitter for WEBHOOK_RETRY_HOURS.

Who sends: `webhook_endpoint_deliver` (a Celery task per endpoint, queued after the events'
commit and by the sweep every WEBHOOK_SWEEP_SECONDS) holds a lease on its endpoint, so one
sender at a time sends an endpoint's deliveries, oldest first; a delivery waiting for its retry
holds back the later ones of its conversation (not the others). The sender keeps going while
deliveries keep coming: up to WEBHOOK_SEND_CONCURRENCY conversations' chains in flight, each
chain's outcome written within a tick of its completion, new deliveries taken up within a tick
of their commit, for turns of WEBHOOK_SENDER_TURN_SECONDS (then a successor is queued, behind
the other endpoints' senders)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, Membership, Role, User
from accounts.tasks import email_send_queue
from config.crypto import Secrets
from config.errors import ConflictError, ValidationFailed
from config.metrics import count_webhook_delivery
from config.net import url_host_is_public
from config.public_url import public_base_url
from config.sql import execute, insert
from integrations.models import ActivitySlot, AlertRule
from integrations.monitoring.counters import Tally
from tenants.events import DomainEvent
from tenants.models import Tenant
from webhooks.models import DESCRIPTION_MAX, URL_MAX, WebhookDelivery, WebhookEndpoint
from webhooks.payloads import EVENT_NAMES, TEST_EVENT, outbound_events, public_name, test_body
from webhooks.sending import AttemptResult, attempt_send

logger = logging.getLogger(__name__)

SECRET_BYTES = 24
PREVIOUS_SECRET_HOURS = 24
# Longer than a sender holds it: its turn (WEBHOOK_SENDER_TURN_SECONDS) and then the chains it
# sent finishing, CHAIN_MAX × the timeout at worst (20 × 10 s, when every answer times out).
LEASE_SECONDS = 900
SENDER_TICK_SECONDS = 0.025  # a sender writes outcomes and looks for new deliveries this often
FULL_SCAN_SECONDS = 1.0  # ... and for due retries (and anything it stepped over) this often
# ... and writes its attempts on the integrations health counters this often (not each tick).
COUNTERS_WRITE_SECONDS = 1.0
ENDPOINT_READ_SECONDS = 1.0  # ... and reads its endpoint again (disabled, URL or secret changed)
DUE_READ = 1000  # deliveries' ids read at a look
CHAIN_MAX = 20  # deliveries of one conversation sent in one go
INSERT_CHUNK = 1000  # rows a statement (PostgreSQL takes at most 65,535 parameters)
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 6 * 3600.0
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0
ERROR_MAX = 300
UNSET: Any = object()


def _secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _audit_target(endpoint: WebhookEndpoint) -> AuditTarget:
    return AuditTarget("webhook", str(endpoint.public_id), endpoint.url[:200])


# --- Which endpoints hear which events (remembered per process) --------------------------------

# (expires, {tenant_pk: [(endpoint_pk, events, is_active)]})
_subscriptions: tuple[float, dict[int, list[tuple[int, frozenset[str], bool]]]] = (0.0, {})


def subscriptions_forget() -> None:
    """Read the endpoints again at the next event (this process changed one)."""
    global _subscriptions
    _subscriptions = (0.0, {})


def _subscriptions_now() -> dict[int, list[tuple[int, frozenset[str], bool]]]:
    global _subscriptions
    expires, found = _subscriptions
    now = time.monotonic()
    if expires > now:
        return found
    found = {}
    for pk, tenant_pk, events, is_active in WebhookEndpoint.all_objects.values_list(
            "pk", "tenant_id", "events", "is_active"):
        found.setdefault(tenant_pk, []).append((pk, frozenset(events or ()), is_active))
    _subscriptions = (now + settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS, found)
    return found


# --- Endpoints ----------------------------------------------------------------------------------


def _url_checked(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        URLValidator(schemes=["http", "https"])(url)
        hostname = parts.hostname
    except (DjangoValidationError, ValueError):  # ValueError: urlsplit's, of a malformed host ("http://[")
        parts, hostname = urlsplit(""), None
    if parts.scheme not in ("http", "https") or not hostname or len(url) > URL_MAX:
        raise ValidationFailed(_("Give the full address of your endpoint, starting with https://."),
                               details={"url": [_("Not an http(s) URL.")]}, status_code=422)
    if parts.username or parts.password:
        raise ValidationFailed(_("The URL may not hold a user name or password."),
                               details={"url": [_("Credentials in the URL are not allowed.")]}, status_code=422)
    if not settings.WEBHOOKS_ALLOW_PRIVATE and not url_host_is_public(url):
        raise ValidationFailed(
            _("This address is not on the internet (it names a private or reserved address, or cannot be found)."),
            details={"url": [_("The address must be public.")]}, status_code=422)
    return url


def _events_checked(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [name for name in chosen if name not in EVENT_NAMES]
    if unknown or not chosen:
        raise ValidationFailed(_("Choose at least one of the events offered."),
                               details={"events": [_("Unknown events: %(names)s") % {"names": ", ".join(unknown)}]
                                        if unknown else [_("Choose at least one event.")]}, status_code=422)
    return chosen


@transaction.atomic
def webhook_endpoint_register(*, tenant: Tenant, actor: User | None, url: str, events: Iterable[str],
                              description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (the only time it is shown)."""
    url, chosen = _url_checked(url), _events_checked(events)
    if WebhookEndpoint.all_objects.filter(tenant=tenant).count() >= settings.WEBHOOK_ENDPOINTS_MAX:
        raise ConflictError(_("This account has as many webhook endpoints as it may have (%(max)s).")
                            % {"max": settings.WEBHOOK_ENDPOINTS_MAX}, code="limit_reached")
    secret = _secret_new()
    endpoint = WebhookEndpoint(tenant=tenant, url=url, events=chosen, description=description[:DESCRIPTION_MAX],
                               secret=Secrets({"current": secret}), created_by=actor)
    endpoint.save()
    audit_record(tenant=tenant, action=AuditAction.WEBHOOK_CREATED, actor=actor, target=_audit_target(endpoint),
                 details={"url": url, "events": chosen})
    transaction.on_commit(subscriptions_forget)
    subscriptions_forget()
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, tenant: Tenant, actor: User | None, endpoint: WebhookEndpoint, url: str = UNSET,
                            events: Iterable[str] = UNSET, description: str = UNSET) -> WebhookEndpoint:
    changed: dict[str, Any] = {}
    if url is not UNSET and url.strip() != endpoint.url:
        endpoint.url = changed["url"] = _url_checked(url)
    if events is not UNSET:
        chosen = _events_checked(events)
        if chosen != endpoint.events:
            endpoint.events = changed["events"] = chosen
    if description is not UNSET and description != endpoint.description:
        endpoint.description = changed["description"] = description[:DESCRIPTION_MAX]
    if changed:
        endpoint.save()
        audit_record(tenant=tenant, action=AuditAction.WEBHOOK_UPDATED, actor=actor,
                     target=_audit_target(endpoint), details=changed)
        transaction.on_commit(subscriptions_forget)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, tenant: Tenant, actor: User | None, endpoint: WebhookEndpoint) -> None:
    audit_record(tenant=tenant, action=AuditAction.WEBHOOK_DELETED, actor=actor, target=_audit_target(endpoint))
    endpoint.delete()
    transaction.on_commit(subscriptions_forget)


@transaction.atomic
def webhook_secret_rotate(*, tenant: Tenant, actor: User | None, endpoint: WebhookEndpoint,
                          now: dt.datetime | None = None) -> str:
    """A new secret; the one it replaces still signs (next to it) for PREVIOUS_SECRET_HOURS, so
    the receiver can change its copy without losing a delivery."""
    now = now or timezone.now()
    secret = _secret_new()
    endpoint.secret = Secrets({"current": secret, "previous": endpoint.secret.get("current", "")})
    endpoint.previous_secret_expires_at = now + dt.timedelta(hours=PREVIOUS_SECRET_HOURS)
    endpoint.save(update_fields=["secret", "previous_secret_expires_at", "updated_at"])
    audit_record(tenant=tenant, action=AuditAction.WEBHOOK_SECRET_ROTATED, actor=actor,
                 target=_audit_target(endpoint))
    return secret


def signing_secrets(endpoint: WebhookEndpoint, *, now: dt.datetime) -> list[str]:
    found = [endpoint.secret["current"]]
    previous = endpoint.secret.get("previous")
    if previous and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        found.append(previous)
    return found


@transaction.atomic
def webhook_endpoint_disable(*, tenant: Tenant, actor: User | None, endpoint: WebhookEndpoint, reason: str,
                             now: dt.datetime | None = None) -> WebhookEndpoint:
    """No more sending: what was waiting, and what happens until it is enabled again, is kept
    as skipped (replayed on request when it is enabled)."""
    now = now or timezone.now()
    if not endpoint.is_active:
        return endpoint
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason[:200]
    endpoint.sending_until = None
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "sending_until", "updated_at"])
    WebhookDelivery.all_objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.SKIPPED, next_attempt_at=None)
    audit_record(tenant=tenant, action=AuditAction.WEBHOOK_DISABLED, actor=actor, target=_audit_target(endpoint),
                 details={"reason": reason[:200]})
    transaction.on_commit(subscriptions_forget)
    return endpoint


@transaction.atomic
def webhook_endpoint_enable(*, tenant: Tenant, actor: User | None, endpoint: WebhookEndpoint,
                            replay_missed: bool = False) -> int:
    """Send again; with `replay_missed`, what it missed too (deliveries skipped while it was
    disabled and those given up since it began failing), in their order. Returns how many are
    sent again."""
    replayed = 0
    if replay_missed:
        missed = Q(status=WebhookDelivery.Status.SKIPPED)
        if endpoint.failing_since is not None:
            missed |= Q(status=WebhookDelivery.Status.GAVE_UP, created_at__gte=endpoint.failing_since)
        replayed = WebhookDelivery.all_objects.filter(missed, endpoint=endpoint).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=None, error="")
    if endpoint.is_active and not replayed:
        return 0
    was_active = endpoint.is_active
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    endpoint.failing_since = None
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "failing_since", "updated_at"])
    if not was_active:
        audit_record(tenant=tenant, action=AuditAction.WEBHOOK_ENABLED, actor=actor, target=_audit_target(endpoint),
                     details={"replayed": replayed})
    transaction.on_commit(subscriptions_forget)
    return replayed


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send this delivery again (same webhook-id: a receiver that took it already knows it)."""
    if not delivery.endpoint.is_active:
        raise ConflictError(_("This endpoint is disabled: enable it first."), code="endpoint_disabled")
    if delivery.status == WebhookDelivery.Status.PENDING:
        return delivery
    delivery.status, delivery.next_attempt_at, delivery.error = WebhookDelivery.Status.PENDING, None, ""
    delivery.save(update_fields=["status", "next_attempt_at", "error"])
    return delivery


@transaction.atomic
def webhook_test_send(*, endpoint: WebhookEndpoint, now: dt.datetime | None = None) -> WebhookDelivery:
    """A `webhook.test` event for this endpoint (whatever it subscribed to)."""
    if not endpoint.is_active:
        raise ConflictError(_("This endpoint is disabled: enable it first."), code="endpoint_disabled")
    now = now or timezone.now()
    delivery = WebhookDelivery(tenant_id=endpoint.tenant_id, endpoint=endpoint, event=TEST_EVENT, created_at=now)
    delivery.payload = test_body(endpoint_id=str(endpoint.public_id), event_id=str(delivery.public_id), at=now)
    delivery.save()
    return delivery


# --- Deliveries made by events (the listener) ------------------------------------------------


def webhook_deliveries_create(events: list[DomainEvent], *, now: dt.datetime | None = None) -> list[int]:
    """The deliveries of `events` for every endpoint subscribed to them (one INSERT), returns
    the endpoints that have new work. For a tenant with no endpoint this is a dict lookup."""
    subscriptions = _subscriptions_now()
    if not subscriptions:
        return []
    wanted: list[tuple[DomainEvent, str]] = []
    for event in events:
        endpoints = subscriptions.get(event.tenant_pk)
        if endpoints:
            name = public_name(event)
            if name is not None and any(name in subscribed for _pk, subscribed, _active in endpoints):
                wanted.append((event, name))
    if not wanted:
        return []
    now = now or timezone.now()
    rows: list[WebhookDelivery] = []
    woken: set[int] = set()
    for outbound in outbound_events(wanted, at=now):
        for endpoint_pk, subscribed, is_active in subscriptions[outbound.tenant_pk]:
            if outbound.name in subscribed:
                rows.append(WebhookDelivery(
                    tenant_id=outbound.tenant_pk, endpoint_id=endpoint_pk, event_id=outbound.event_id,
                    event=outbound.name, payload=outbound.body, ordering_key=outbound.ordering_key,
                    created_at=now,
                    status=WebhookDelivery.Status.PENDING if is_active else WebhookDelivery.Status.SKIPPED))
                if is_active:
                    woken.add(endpoint_pk)
    try:
        with transaction.atomic():
            _rows_insert(rows)
    except IntegrityError:  # an endpoint deleted by another process a moment ago
        subscriptions_forget()
        live = set(WebhookEndpoint.all_objects.filter(pk__in={row.endpoint_id for row in rows})
                   .values_list("pk", flat=True))
        _rows_insert([row for row in rows if row.endpoint_id in live])
        woken &= live
    return sorted(woken)


_RECORD_COLUMNS = (
    ("tenant_id", "bigint"), ("endpoint_id", "bigint"), ("public_id", "uuid"), ("event_id", "text"),
    ("event", "text"), ("payload", "jsonb"), ("ordering_key", "text"), ("status", "text"),
    ("created_at", "timestamptz"),
)


def _rows_insert(rows: list[WebhookDelivery]) -> None:
    """The deliveries of a batch of events, in one statement. On PostgreSQL the rows travel as
    one JSON parameter (jsonb_to_recordset): Django's bulk_create quotes every payload into
    arrays, and an INSERT of VALUES lists makes psycopg parse a statement of ~20 placeholders
    a row; each cost ~1 ms a delivery, this ~0.1 ms (measured, 500-event batches)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        for start in range(0, len(rows), INSERT_CHUNK):
            insert(rows[start:start + INSERT_CHUNK])
        return
    table = WebhookDelivery._meta.db_table
    names = ", ".join(name for name, _type in _RECORD_COLUMNS)
    record = ", ".join(f"{name} {kind}" for name, kind in _RECORD_COLUMNS)
    records = [{"tenant_id": row.tenant_id, "endpoint_id": row.endpoint_id, "public_id": str(row.public_id),
                "event_id": row.event_id, "event": row.event, "payload": row.payload,
                "ordering_key": row.ordering_key, "status": row.status, "created_at": row.created_at.isoformat()}
               for row in rows]
    execute(f"INSERT INTO {table} ({names}, attempts, response_excerpt, error) "
            f"SELECT {names}, 0, '', '' FROM jsonb_to_recordset(%s::jsonb) AS r({record})",
            [json.dumps(records, separators=(",", ":"))])


# --- Sending ---------------------------------------------------------------------------------


def _lease_take(endpoint_pk: int, now: dt.datetime) -> bool:
    return bool(WebhookEndpoint.all_objects.filter(
        Q(sending_until__isnull=True) | Q(sending_until__lt=now), pk=endpoint_pk, is_active=True,
    ).update(sending_until=now + dt.timedelta(seconds=LEASE_SECONDS)))


def _lease_release(endpoint_pk: int) -> None:
    WebhookEndpoint.all_objects.filter(pk=endpoint_pk).update(sending_until=None)


def retry_delay(attempts: int, *, retry_after: float | None = None) -> float:
    """Seconds until the next attempt after `attempts` failed ones: doubling from
    RETRY_BASE_SECONDS up to RETRY_MAX_SECONDS, ±20 % jitter, or what Retry-After asked for."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), RETRY_AFTER_MAX_SECONDS)
    base = min(RETRY_BASE_SECONDS * 2.0 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    return float(base * random.uniform(0.8, 1.2))


def _retryable(result: AttemptResult) -> bool:
    if result.refused:
        return False
    if result.status is None:
        return True
    return result.status in (408, 429) or result.status >= 500


def webhook_endpoint_deliver(*, endpoint_pk: int, now: dt.datetime | None = None, linger: float = 0.0,
                             turn: float | None = None, handover: Callable[[], None] | None = None) -> int:
    """Send the endpoint's due deliveries, oldest first, and those that arrive meanwhile; returns
    how many attempts were made. It keeps looking for new ones for `linger` seconds once it has
    nothing to send; after `turn` seconds (none: no end) it finishes what it sent and calls
    `handover` (the task queues its successor, so that other endpoints' senders get the process)
    when work remains. `now` (tests) fixes the clock for the whole run."""
    fixed_now = now

    def clock() -> dt.datetime:
        return fixed_now if fixed_now is not None else timezone.now()

    sender = _Sender(endpoint_pk, clock, linger=linger, turn=turn)
    while True:
        if not _lease_take(endpoint_pk, clock()):
            return sender.attempts
        try:
            sender.run()
        finally:
            _lease_release(endpoint_pk)
        # The listener queues no sender for an endpoint whose lease is held: work that arrived
        # while this one held it is this one's to take (or to hand over).
        if not sender.more_arrived():
            return sender.attempts
        if sender.turn_over and handover is not None:
            handover()
            return sender.attempts
        sender.turn_renew()


_local = threading.local()


def _send_pool(size: int) -> ThreadPoolExecutor:
    """This worker thread's sending threads (one sender runs on a worker thread at a time:
    with Celery's prefork pool, one per process), made once and kept between runs."""
    pool: ThreadPoolExecutor | None = getattr(_local, "pool", None)
    if pool is None or getattr(_local, "pool_size", 0) != size:
        if pool is not None:
            pool.shutdown(wait=False)
        pool = _local.pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="webhook-send")
        _local.pool_size = size
    return pool


Attempt = tuple[WebhookDelivery, AttemptResult, dt.datetime]


class _Sender:
    """One endpoint's sender while it holds the lease. Each tick (SENDER_TICK_SECONDS) it writes
    the outcomes of the chains that completed since the last one (one statement), then fills
    its free places (WEBHOOK_SEND_CONCURRENCY chains in flight at most: the endpoint's limit)
    with the oldest due deliveries whose conversation has nothing in flight or waiting.

    It finds them with two reads of (id, ordering key) only: new deliveries above the highest
    id it has dealt with (cheap, each tick), and every due one from the start (each
    FULL_SCAN_SECONDS: due retries, replays, a delivery whose transaction committed after a
    later one's). Only the chosen deliveries are read whole. Conversations waiting for a retry
    are read at each full scan and kept up to date from the outcomes written meanwhile."""

    def __init__(self, endpoint_pk: int, clock: Callable[[], dt.datetime], *, linger: float,
                 turn: float | None) -> None:
        self.endpoint_pk, self.clock, self.linger, self.turn = endpoint_pk, clock, linger, turn
        self.deadline = None if turn is None else time.monotonic() + turn
        self.attempts = 0
        self.fresh_after = 0  # new deliveries: those above this id (those at or below were dealt with)
        self.full_scanned_at: dt.datetime | None = None  # the clock at the last full scan
        self.turn_over = False

    def turn_renew(self) -> None:
        self.turn_over = False
        self.deadline = None if self.turn is None else time.monotonic() + self.turn

    def more_arrived(self) -> bool:
        """Whether a delivery arrived, or a retry came due, since this sender last looked."""
        now = self.clock()
        pending = WebhookDelivery.all_objects.filter(endpoint_id=self.endpoint_pk,
                                                     status=WebhookDelivery.Status.PENDING)
        # (Each an index range, not one OR that reads every pending delivery.)
        return (pending.filter(next_attempt_at__isnull=True, pk__gt=self.fresh_after).exists()
                or self.full_scanned_at is not None and pending.filter(
                    next_attempt_at__gt=self.full_scanned_at, next_attempt_at__lte=now).exists()
                or self.turn_over and (pending.filter(next_attempt_at__isnull=True).exists()
                                       or pending.filter(next_attempt_at__lte=now).exists()))

    def run(self) -> None:
        counters = Tally()  # the health counters of its attempts, written about once a second
        try:
            self._run(counters)
        finally:
            counters.save()

    def _run(self, counters: Tally) -> None:
        counted_at = time.monotonic()
        endpoint = WebhookEndpoint.all_objects.filter(pk=self.endpoint_pk, is_active=True).first()
        if endpoint is None:
            return
        limit = max(1, settings.WEBHOOK_SEND_CONCURRENCY)
        pool = _send_pool(limit)
        in_flight: dict[Future[list[Attempt]], str] = {}
        in_flight_ids: set[int] = set()
        # Read once a run (a turn): no one else makes this endpoint's deliveries wait meanwhile.
        waiting = self._waiting_read(self.clock())
        full_scan_at = 0.0  # monotonic: the next full scan
        endpoint_read_at = time.monotonic() + ENDPOINT_READ_SECONDS
        idle_since: float | None = None
        while True:
            tick = time.monotonic()
            done = [future for future in in_flight if future.done()]
            if done:
                attempts: list[Attempt] = []
                for future in done:
                    in_flight.pop(future)
                    attempts.extend(future.result())
                for delivery, _result, _at in attempts:
                    in_flight_ids.discard(delivery.pk)
                attempts.sort(key=lambda item: item[2])
                _attempts_record(endpoint, attempts, counters=counters)
                self.attempts += len(attempts)
                if tick - counted_at >= COUNTERS_WRITE_SECONDS:
                    counters.save()
                    counted_at = tick
                for delivery, _result, _at in attempts:  # a failure holds back its conversation
                    key, next_at = delivery.ordering_key, delivery.next_attempt_at
                    if key and delivery.status == WebhookDelivery.Status.PENDING and next_at is not None:
                        held = waiting.get(key)
                        if held is None or delivery.pk < held[0]:
                            waiting[key] = (delivery.pk, next_at)
            if tick >= endpoint_read_at:  # disabled, its URL or secret changed elsewhere
                endpoint_read_at = tick + ENDPOINT_READ_SECONDS
                fresh = WebhookEndpoint.all_objects.filter(pk=self.endpoint_pk).first()
                if fresh is None or not fresh.is_active:
                    endpoint.is_active = False
                else:
                    endpoint = fresh
            stopping = self.turn_over or not endpoint.is_active
            sent = 0
            if not stopping and len(in_flight) < limit:
                now = self.clock()
                full = tick >= full_scan_at
                if full:
                    full_scan_at = tick + FULL_SCAN_SECONDS
                    self.full_scanned_at = now
                chains = self._chains_due(now, full=full, places=limit - len(in_flight), waiting=waiting,
                                          in_flight_ids=in_flight_ids, in_flight_keys=set(in_flight.values()))
                if chains:
                    secrets_now = signing_secrets(endpoint, now=now)
                    for key, chain in chains.items():
                        in_flight[pool.submit(_chain_send, endpoint.url, secrets_now, chain, self.clock)] = key
                        in_flight_ids.update(delivery.pk for delivery in chain)
                    sent = len(chains)
            if self.deadline is not None and tick >= self.deadline:  # (after a tick's work at least)
                self.turn_over = True
            if not in_flight:
                if stopping:
                    return
                if sent == 0:
                    idle_since = idle_since if idle_since is not None else tick
                    if time.monotonic() - idle_since >= self.linger:
                        return
            if sent or in_flight:
                idle_since = None
            # Outcomes and new deliveries are dealt with once a tick, whatever completes meanwhile.
            time.sleep(max(0.0, tick + SENDER_TICK_SECONDS - time.monotonic()))

    def _waiting_read(self, now: dt.datetime) -> dict[str, tuple[int, dt.datetime]]:
        """The first delivery waiting for its retry of each conversation (it holds back the later
        ones). Unordered: the statement then reads the waiting deliveries (the status and
        next-attempt index), not every pending one, which a backlog makes many (read once a
        second, this took a second a time behind 20,000 of them)."""
        waiting: dict[str, tuple[int, dt.datetime]] = {}
        for key, pk, next_at in (WebhookDelivery.all_objects.filter(
                endpoint_id=self.endpoint_pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__gt=now)
                .exclude(ordering_key="").values_list("ordering_key", "id", "next_attempt_at").order_by()):
            held = waiting.get(key)
            if next_at is not None and (held is None or pk < held[0]):
                waiting[key] = (pk, next_at)
        return waiting

    def _chains_due(self, now: dt.datetime, *, full: bool, places: int, waiting: dict[str, tuple[int, dt.datetime]],
                    in_flight_ids: set[int], in_flight_keys: set[str]) -> dict[str, list[WebhookDelivery]]:
        """Up to `places` chains of the oldest due deliveries (a conversation's, in order)."""
        pending = WebhookDelivery.all_objects.filter(endpoint_id=self.endpoint_pk,
                                                     status=WebhookDelivery.Status.PENDING)
        if full:
            rows = pending.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        else:
            rows = pending.filter(next_attempt_at__isnull=True, pk__gt=self.fresh_after)
        found = list(rows.order_by("id").values_list("id", "ordering_key")[:DUE_READ + len(in_flight_ids)])
        chosen: dict[str, list[int]] = {}
        later: int | None = None  # the first delivery left for a later tick
        for pk, ordering_key in found:
            key = ordering_key or f"#{pk}"
            if pk in in_flight_ids:
                continue
            if key in in_flight_keys:  # after the chain in flight
                later = later if later is not None else pk
                continue
            held = waiting.get(ordering_key) if ordering_key else None
            if held is not None and held[0] < pk and held[1] > now:
                continue  # waits for its conversation's retry (found again by a full scan)
            picked = chosen.get(key)
            if picked is None and len(chosen) >= places or picked is not None and len(picked) >= CHAIN_MAX:
                later = later if later is not None else pk
                continue
            chosen.setdefault(key, []).append(pk)
        # New deliveries are looked for above the last one dealt with (sent, or held back by a
        # retry: a full scan finds it again), or below the first left for a later tick.
        if later is not None:
            self.fresh_after = min(self.fresh_after, later - 1) if full else later - 1
        elif found:
            self.fresh_after = max(self.fresh_after, found[-1][0])
        if not chosen:
            return {}
        by_pk = WebhookDelivery.all_objects.in_bulk([pk for chain in chosen.values() for pk in chain])
        chains: dict[str, list[WebhookDelivery]] = {}
        for key, pks in chosen.items():
            chain = []
            for pk in pks:
                delivery = by_pk.get(pk)
                if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
                    break  # changed meanwhile (replayed, disabled, deleted): found again if due
                chain.append(delivery)
            if chain:
                chains[key] = chain
        return chains


def _chain_send(url: str, secrets_now: list[str], chain: list[WebhookDelivery],
                clock: Callable[[], dt.datetime]) -> list[Attempt]:
    """A conversation's deliveries one after another, until one fails (on a sending thread: HTTP only)."""
    sent: list[Attempt] = []
    for delivery in chain:
        try:
            result = attempt_send(url=url, msg_id=str(delivery.public_id), payload=delivery.payload,
                                  secrets=secrets_now, now=clock())
        except Exception as error:  # noqa: BLE001 - recorded as a failed attempt, retried
            logger.exception("webhook delivery %s could not be sent", delivery.public_id)
            result = AttemptResult(status=None, error=f"could not be sent ({type(error).__name__})")
        sent.append((delivery, result, clock()))
        if not (result.status is not None and 200 <= result.status < 300):
            break
    return sent


_ATTEMPT_FIELDS = ("attempts", "last_attempt_at", "response_status", "response_excerpt", "latency_ms", "status",
                   "delivered_at", "error", "next_attempt_at")


def _attempt_apply(delivery: WebhookDelivery, result: AttemptResult, *, now: dt.datetime) -> bool:
    """One attempt's outcome on the delivery (not saved); True when it succeeded."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = result.status
    delivery.response_excerpt = result.excerpt
    delivery.latency_ms = result.latency_ms
    succeeded = result.status is not None and 200 <= result.status < 300
    if succeeded:
        delivery.status, delivery.delivered_at, delivery.error = WebhookDelivery.Status.SUCCEEDED, now, ""
        delivery.next_attempt_at = None
    else:
        delivery.error = (result.error or f"HTTP {result.status}")[:ERROR_MAX]
        if 300 <= (result.status or 0) < 400:
            delivery.error = f"HTTP {result.status}: redirects are not followed"
        if _retryable(result):
            delay = retry_delay(delivery.attempts, retry_after=result.retry_after)
            next_at = now + dt.timedelta(seconds=delay)
            if next_at > delivery.created_at + dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
                delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.GAVE_UP, None
            else:
                delivery.next_attempt_at = next_at
        else:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    return succeeded


def _attempts_record(endpoint: WebhookEndpoint, attempts: list[tuple[WebhookDelivery, AttemptResult, dt.datetime]],
                     *, counters: Tally | None = None) -> None:
    """Attempts of the chains that completed in a sender's tick, in the order they were made:
    the rows in one statement, then whether the endpoint is failing (since when), and disabled
    when it failed for too long. Every attempt's outcome is recorded here, and only here."""
    failing_since, disable_at = endpoint.failing_since, None
    for delivery, result, at in attempts:
        if _attempt_apply(delivery, result, now=at):
            failing_since = None
        elif failing_since is None:
            failing_since = at
        elif at - failing_since >= dt.timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS):
            disable_at = at
        if not endpoint.is_active and delivery.status == WebhookDelivery.Status.PENDING:
            # Sent while it was being disabled: kept with the others it missed, not retried.
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.SKIPPED, None
    _rows_update([delivery for delivery, _result, _at in attempts])
    _attempts_count(endpoint, attempts, counters)
    if failing_since != endpoint.failing_since:
        endpoint.failing_since = failing_since
        WebhookEndpoint.all_objects.filter(pk=endpoint.pk).update(failing_since=failing_since)
    if disable_at is not None and failing_since is not None:
        _endpoint_disable_failing(endpoint, now=disable_at)


_METRIC_OUTCOMES: dict[str, str] = {
    WebhookDelivery.Status.SUCCEEDED: "delivered", WebhookDelivery.Status.PENDING: "retry",
    WebhookDelivery.Status.GAVE_UP: "gave_up", WebhookDelivery.Status.SKIPPED: "skipped"}


def _attempts_count(endpoint: WebhookEndpoint, attempts: list[tuple[WebhookDelivery, AttemptResult, dt.datetime]],
                    counters: Tally | None) -> None:
    """The attempts on the integrations health counters: added to `counters` (a sender's, which
    it writes about once a second), or written at once (one statement or two)."""
    tally = counters if counters is not None else Tally()
    for delivery, result, at in attempts:
        # /metrics: each attempt's outcome as the delivery now stands, and the answer's time.
        count_webhook_delivery("refused" if result.refused else _METRIC_OUTCOMES.get(delivery.status, "failed"),
                               result.latency_ms / 1000 if result.status is not None else None)
        succeeded = result.status is not None and 200 <= result.status < 300
        code = "" if succeeded else (f"HTTP {result.status}" if result.status is not None
                                     else "refused" if result.refused else "no answer")
        tally.add(kind=ActivitySlot.Subject.WEBHOOK, subject_pk=endpoint.pk, tenant_pk=endpoint.tenant_id, at=at,
                  attempted=1, failed=0 if succeeded else 1, latency_ms=result.latency_ms, error_code=code)
    if counters is None:
        tally.save()


def _rows_update(rows: list[WebhookDelivery]) -> None:
    """Each attempted delivery's new state in one statement (PostgreSQL: one JSON parameter,
    as _rows_insert; bulk_update's CASE per row and field is a statement psycopg parses slowly)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        WebhookDelivery.all_objects.bulk_update(rows, list(_ATTEMPT_FIELDS))
        return

    def moment(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    records = [{"id": row.pk, "attempts": row.attempts, "last_attempt_at": moment(row.last_attempt_at),
                "response_status": row.response_status, "response_excerpt": row.response_excerpt,
                "latency_ms": row.latency_ms, "status": row.status, "delivered_at": moment(row.delivered_at),
                "error": row.error, "next_attempt_at": moment(row.next_attempt_at)} for row in rows]
    table = WebhookDelivery._meta.db_table
    execute(
        f"UPDATE {table} AS d SET attempts = r.attempts, last_attempt_at = r.last_attempt_at, "
        "response_status = r.response_status, response_excerpt = r.response_excerpt, latency_ms = r.latency_ms, "
        "status = r.status, delivered_at = r.delivered_at, error = r.error, next_attempt_at = r.next_attempt_at "
        "FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, attempts integer, last_attempt_at timestamptz, "
        "response_status integer, response_excerpt text, latency_ms integer, status text, delivered_at timestamptz, "
        "error text, next_attempt_at timestamptz) WHERE d.id = r.id",
        [json.dumps(records, separators=(",", ":"))])


def _endpoint_disable_failing(endpoint: WebhookEndpoint, *, now: dt.datetime) -> None:
    hours = settings.WEBHOOK_DISABLE_AFTER_HOURS
    with transaction.atomic():
        tenant = Tenant.objects.get(pk=endpoint.tenant_id)
        webhook_endpoint_disable(tenant=tenant, actor=None, endpoint=endpoint, now=now,
                                 reason=f"every delivery failed for {hours} hours")
        # The tenant's "webhook endpoint disabled" alert, when on, tells the same admins itself (a
        # notice and an email, with where to enable and replay): one email, not two.
        if not AlertRule.all_objects.filter(tenant=tenant, kind=AlertRule.Kind.WEBHOOK_DISABLED,
                                            is_active=True).exists():
            _endpoint_disabled_email(tenant=tenant, endpoint=endpoint, hours=hours)
    logger.warning("webhook endpoint %s disabled after %s hours of failures", endpoint.public_id, hours)


def _endpoint_disabled_email(*, tenant: Tenant, endpoint: WebhookEndpoint, hours: int) -> None:
    admins = (Membership.all_objects.filter(tenant=tenant, role=Role.TENANT_ADMIN, is_active=True,
                                            user__is_active=True)
              .select_related("user").order_by("pk"))
    context = {"tenant": tenant, "endpoint": endpoint, "hours": hours,
               "settings_url": f"{public_base_url()}/settings/webhooks/"}
    subject = _("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url[:80]}
    body = render_to_string("webhooks/email/endpoint_disabled.txt", context)
    for membership in admins:
        email_send_queue(subject=subject, body=body, to=membership.user.email)


def webhook_endpoints_due(*, now: dt.datetime | None = None) -> list[int]:
    """Active endpoints with a delivery due and no sender holding them (the sweep)."""
    now = now or timezone.now()
    # Per endpoint, whether one due delivery exists (an index probe): not every pending delivery
    # read and made distinct, which a backlog makes many.
    pending = WebhookDelivery.all_objects.filter(endpoint_id=OuterRef("pk"), status=WebhookDelivery.Status.PENDING)
    return list(WebhookEndpoint.all_objects.filter(is_active=True)
                .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
                .filter(Exists(pending.filter(next_attempt_at__isnull=True))
                        | Exists(pending.filter(next_attempt_at__lte=now)))
                .order_by("pk").values_list("pk", flat=True))


def webhook_endpoints_idle(endpoint_pks: list[int], *, now: dt.datetime | None = None) -> list[int]:
    """Those of these endpoints whose lease no sender holds (one query)."""
    now = now or timezone.now()
    busy = set(WebhookEndpoint.all_objects.filter(pk__in=endpoint_pks, sending_until__gte=now)
               .values_list("pk", flat=True))
    return [pk for pk in endpoint_pks if pk not in busy]


def webhook_deliveries_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the deliveries older than WEBHOOK_DELIVERY_KEEP_DAYS (pending ones too: they gave
    up long ago); returns how many."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.WEBHOOK_DELIVERY_KEEP_DAYS)
    removed = 0
    while True:
        batch = list(WebhookDelivery.all_objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:1000])
        if not batch:
            return removed
        removed += WebhookDelivery.all_objects.filter(pk__in=batch).delete()[0]

