"""An endpoint's sender at work: its limit of deliveries in flight, each chain's outcome written
when it completes (not when the others do), deliveries that arrive while it sends taken up in
order, its turn handed over, and nothing left behind when it lets go of the endpoint. Sending
and receiving run on real threads; nothing here is timed (a wait only bounds a broken run)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.webhooks.conftest import Answer
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import CHAIN_MAX, webhook_endpoint_deliver, webhook_endpoint_register, webhook_endpoints_idle

pytestmark = pytest.mark.django_db

WAIT = 5.0  # how long a receiver waits for what the test expects before answering anyway


def _endpoint(tenant, receiver):
    return webhook_endpoint_register(tenant=tenant, actor=None, url=receiver.url, events=["message.received"])[0]


def _delivery(endpoint, name, key=None):
    """A delivery named `name` (in its body) of conversation `key` (by default its own)."""
    return WebhookDelivery.all_objects.create(tenant_id=endpoint.tenant_id, endpoint=endpoint,
                                              event="message.received", payload={"data": {"n": name}},
                                              ordering_key=key or name, created_at=services.timezone.now())


def _n(request):
    return request.json()["data"]["n"]


class _InFlight:
    """Counts the requests the receiver is answering at once; each waits (up to WAIT) until
    `expected` are in, so that the highest count seen is the sender's limit, not chance."""

    def __init__(self, expected: int, total: int) -> None:
        self.expected, self.total, self.now, self.most, self.arrived = expected, total, 0, 0, 0
        self.changed = threading.Condition()

    def __call__(self, request):
        with self.changed:
            self.now += 1
            self.arrived += 1
            self.most = max(self.most, self.now)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.now >= self.expected or self.arrived >= self.total, timeout=WAIT)
        time.sleep(0.05)  # a sender over its limit would send more meanwhile
        with self.changed:
            self.now -= 1
        return Answer(status=200)


def test_an_endpoint_has_no_more_deliveries_in_flight_than_its_limit(acme, receiver, settings):
    settings.WEBHOOK_SEND_CONCURRENCY = 3
    in_flight = _InFlight(expected=3, total=10)
    receiver.answer = in_flight
    endpoint = _endpoint(acme, receiver)
    rows = [_delivery(endpoint, f"conversation-{n}") for n in range(10)]

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    assert in_flight.most == 3
    assert set(WebhookDelivery.all_objects.filter(pk__in=[r.pk for r in rows]).values_list("status", flat=True)) == {
        "succeeded"}


def test_different_conversations_go_out_side_by_side(acme, receiver, settings):
    """Eight slow answers at once: each answer waits until all eight are in."""
    settings.WEBHOOK_SEND_CONCURRENCY = 8
    in_flight = _InFlight(expected=8, total=8)
    receiver.answer = in_flight
    endpoint = _endpoint(acme, receiver)
    for n in range(8):
        _delivery(endpoint, f"conversation-{n}")

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    assert in_flight.most == 8


def test_each_chains_outcome_is_written_when_it_completes(acme, receiver, monkeypatch):
    """A's answer comes only once B's outcome is written: written at the end of a round, it
    would wait for A's (and be written with it)."""
    written: list[list[str]] = []
    b_written = threading.Event()
    recorded = services._attempts_record

    def record(endpoint, attempts, **kwargs):
        written.append([delivery.payload["data"]["n"] for delivery, _result, _at in attempts])
        if "B1" in written[-1]:
            b_written.set()
        recorded(endpoint, attempts, **kwargs)

    def answer(request):
        if _n(request) == "A1":
            b_written.wait(timeout=WAIT)
        return Answer(status=200)

    monkeypatch.setattr(services, "_attempts_record", record)
    receiver.answer = answer
    endpoint = _endpoint(acme, receiver)
    a1, b1 = _delivery(endpoint, "A1", "A"), _delivery(endpoint, "B1", "B")

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    assert written == [["B1"], ["A1"]]
    assert {row.status for row in WebhookDelivery.all_objects.filter(pk__in=[a1.pk, b1.pk])} == {"succeeded"}


def test_deliveries_made_while_sending_are_sent_in_their_conversations_order(acme, receiver, monkeypatch):
    """A2 and C1 are made while A1 is being answered: C1 goes at once, A2 only after A1's answer."""
    made = threading.Event()
    a1_answered = threading.Event()
    a2_sent_before_a1_answered: list[bool] = []
    recorded = services._attempts_record

    def record(endpoint, attempts, **kwargs):
        recorded(endpoint, attempts, **kwargs)
        if not made.is_set():  # B1's outcome, the first written
            _delivery(endpoint, "A2", "A")
            _delivery(endpoint, "C1", "C")
            made.set()

    def arrived(name):
        return any(_n(r) == name for r in list(receiver.received))

    def answer(request):
        n = _n(request)
        if n == "A1":
            made.wait(timeout=WAIT)
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and not arrived("C1"):
                time.sleep(0.01)
            # A sender that broke the order would send A2 meanwhile too.
            time.sleep(0.2)
            a1_answered.set()
        elif n == "A2":
            a2_sent_before_a1_answered.append(not a1_answered.is_set())
        return Answer(status=200)

    monkeypatch.setattr(services, "_attempts_record", record)
    receiver.answer = answer
    endpoint = _endpoint(acme, receiver)
    _delivery(endpoint, "A1", "A")
    _delivery(endpoint, "B1", "B")

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    sent = [_n(request) for request in receiver.received]
    assert sorted(sent) == ["A1", "A2", "B1", "C1"]
    assert sent.index("C1") < sent.index("A2")  # not held back by A
    assert a2_sent_before_a1_answered == [False]
    assert set(WebhookDelivery.all_objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {
        "succeeded"}


def test_a_long_conversation_goes_out_in_order_in_several_chains(acme, receiver):
    endpoint = _endpoint(acme, receiver)
    rows = [_delivery(endpoint, f"A{n:03}", "A") for n in range(CHAIN_MAX * 2 + 5)]

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    assert [request.headers["webhook-id"] for request in receiver.received] == [str(r.public_id) for r in rows]


def test_after_its_turn_the_sender_hands_over_and_lets_go(acme, receiver, settings):
    settings.WEBHOOK_SEND_CONCURRENCY = 1
    endpoint = _endpoint(acme, receiver)
    rows = [_delivery(endpoint, f"conversation-{n}") for n in range(5)]
    handed_over: list[bool] = []

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, turn=0.0, handover=lambda: handed_over.append(True))

    assert handed_over == [True]
    assert len(receiver.received) == 1  # one tick's worth: one chain in flight at most
    statuses = list(WebhookDelivery.all_objects.filter(pk__in=[r.pk for r in rows]).values_list("status", flat=True))
    assert statuses.count("succeeded") == 1 and statuses.count("pending") == 4
    endpoint.refresh_from_db()
    assert endpoint.sending_until is None


def test_no_sender_is_queued_for_an_endpoint_whose_sender_is_at_work(acme, receiver, globex):
    busy, idle = _endpoint(acme, receiver), _endpoint(globex, receiver)
    WebhookEndpoint.all_objects.filter(pk=busy.pk).update(
        sending_until=services.timezone.now() + services.dt.timedelta(seconds=60))

    assert webhook_endpoints_idle([busy.pk, idle.pk]) == [idle.pk]


def test_a_delivery_made_as_the_sender_lets_go_is_still_sent(acme, receiver, monkeypatch):
    """Made while the lease was held (so the listener queued no sender), it is seen when the
    sender looks again after letting go."""
    released = services._lease_release
    late: list[WebhookDelivery] = []

    def release(endpoint_pk):
        if not late:
            late.append(_delivery(WebhookEndpoint.all_objects.get(pk=endpoint_pk), "late"))
        released(endpoint_pk)

    monkeypatch.setattr(services, "_lease_release", release)
    endpoint = _endpoint(acme, receiver)
    _delivery(endpoint, "first")

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk)

    late[0].refresh_from_db()
    assert late[0].status == WebhookDelivery.Status.SUCCEEDED
    assert [_n(request) for request in receiver.received] == ["first", "late"]


def test_the_sweep_lists_each_endpoint_with_a_due_delivery_once_and_none_held_by_a_sender(acme, globex, receiver):
    from webhooks.services import webhook_endpoints_due

    now = services.timezone.now()
    due, held, later = _endpoint(acme, receiver), _endpoint(globex, receiver), _endpoint(acme, receiver)
    for name in ("a", "b", "c"):
        _delivery(due, name)
        _delivery(held, name)
    WebhookDelivery.all_objects.filter(pk=_delivery(later, "x").pk).update(
        next_attempt_at=now + services.dt.timedelta(minutes=5))
    WebhookEndpoint.all_objects.filter(pk=held.pk).update(sending_until=now + services.dt.timedelta(minutes=15))

    assert webhook_endpoints_due(now=now) == [due.pk]
    assert webhook_endpoints_due(now=now + services.dt.timedelta(minutes=5)) == [due.pk, later.pk]
