"""A webhook endpoint's attempts on the integrations health counters: what was tried, what
failed and how (the status, or no answer), and how long the endpoint took."""

from __future__ import annotations

import pytest

from integrations.models import ActivityError, ActivitySlot
from tests.webhooks.conftest import Answer
from tests.webhooks.test_delivery import T0, _delivery, _endpoint
from webhooks.services import webhook_endpoint_deliver

pytestmark = pytest.mark.django_db


def test_attempts_are_counted_per_endpoint_with_the_status_of_those_that_failed(acme, receiver):
    receiver.answers(Answer(status=200), Answer(status=503), Answer(status=200))
    endpoint, _ = _endpoint(acme, receiver)
    for key in ("a", "b", "c"):
        _delivery(endpoint, key=key)

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)

    slot = ActivitySlot.all_objects.get(subject_kind=ActivitySlot.Subject.WEBHOOK, subject_id=endpoint.pk)
    assert (slot.tenant_id, slot.attempted, slot.failed, slot.latency_count) == (acme.pk, 3, 1, 3)
    error = ActivityError.all_objects.get()
    assert (error.subject_kind, error.code, error.count) == ("webhook", "HTTP 503", 1)


def test_attempts_are_counted_for_prometheus_by_outcome(acme, receiver):
    from prometheus_client import REGISTRY

    def sample(outcome: str) -> float:
        return REGISTRY.get_sample_value("inbox_webhook_deliveries_total", {"outcome": outcome}) or 0.0

    before = {outcome: sample(outcome) for outcome in ("delivered", "retry", "failed")}
    receiver.answers(Answer(status=200), Answer(status=503), Answer(status=404))
    endpoint, _ = _endpoint(acme, receiver)
    for key in ("a", "b", "c"):
        _delivery(endpoint, key=key)

    webhook_endpoint_deliver(endpoint_pk=endpoint.pk, now=T0)

    assert {outcome: sample(outcome) - before[outcome] for outcome in before} == {
        "delivered": 1, "retry": 1, "failed": 1}
