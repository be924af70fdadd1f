"""How stored webhooks are processed: in batches that take up what else is waiting, and
one at a time when a batch fails."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest

from conversations.models import Message
from integrations import services
from integrations.models import WebhookEvent
from integrations.services import webhook_events_process_now
from tests.integrations.whatsapp_cloud.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def _stored(channel, index: int) -> WebhookEvent:
    payload = json.loads((FIXTURES / "inbound-text.json").read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = f"wamid.BATCH{index:03d}", f"pedido {index}"
    return WebhookEvent.all_objects.create(tenant_id=channel.tenant_id, channel=channel, body=json.dumps(payload))


def test_a_task_takes_up_what_else_is_waiting(whatsapp):
    events = [_stored(whatsapp, index) for index in range(5)]

    webhook_events_process_now(event_ids=[events[1].pk])

    statuses = list(WebhookEvent.all_objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [WebhookEvent.Status.RECEIVED] + [WebhookEvent.Status.PROCESSED] * 4  # its own and later
    assert Message.all_objects.filter(channel=whatsapp).count() == 4
    webhook_events_process_now(event_ids=[events[0].pk])  # the earlier one has its own task
    webhook_events_process_now(event_ids=[events[3].pk])  # a later one's task finds it done
    assert Message.all_objects.filter(channel=whatsapp).count() == 5


def test_events_that_failed_before_are_left_to_their_own_task(whatsapp):
    failed_once = _stored(whatsapp, 0)
    WebhookEvent.all_objects.filter(pk=failed_once.pk).update(attempts=1)
    other = _stored(whatsapp, 1)

    webhook_events_process_now(event_ids=[other.pk])

    assert WebhookEvent.all_objects.get(pk=failed_once.pk).status == WebhookEvent.Status.RECEIVED


def test_one_event_that_breaks_processing_fails_alone(whatsapp):
    events = [_stored(whatsapp, index) for index in range(4)]
    poison = events[2]
    process = services._process

    def breaks_on_poison(batch):
        if any(event.pk == poison.pk for event in batch):
            raise RuntimeError("a bug this body triggers")
        return process(batch)

    with mock.patch.object(services, "_process", breaks_on_poison), pytest.raises(RuntimeError):
        webhook_events_process_now(event_ids=[events[0].pk])

    statuses = dict(WebhookEvent.all_objects.values_list("pk", "status"))
    assert statuses.pop(poison.pk) == WebhookEvent.Status.RECEIVED
    assert set(statuses.values()) == {WebhookEvent.Status.PROCESSED}
    assert WebhookEvent.all_objects.get(pk=poison.pk).attempts == 1
    assert Message.all_objects.filter(channel=whatsapp).count() == 3

    webhook_events_process_now(event_ids=[poison.pk])  # the retry, once the bug is gone
    assert Message.all_objects.filter(channel=whatsapp).count() == 4


def test_a_channel_changed_since_the_last_batch_is_read_again(whatsapp):
    webhook_events_process_now(event_ids=[_stored(whatsapp, 0).pk])  # the channel is now remembered
    whatsapp.config = {**whatsapp.config, "phone_number_id": "100000000000099"}
    whatsapp.save()
    event = _stored(whatsapp, 1)
    body = json.loads(event.body)
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "100000000000099"
    WebhookEvent.all_objects.filter(pk=event.pk).update(body=json.dumps(body))

    webhook_events_process_now(event_ids=[event.pk])

    event.refresh_from_db()
    assert (event.status, event.error) == (WebhookEvent.Status.PROCESSED, "")
    assert Message.all_objects.filter(channel=whatsapp).count() == 2


def test_a_web_process_keeps_one_task_waiting_at_a_time():
    with mock.patch("integrations.tasks.webhook_events_process.delay") as delay:
        services.webhook_events_queue([1], coalesce=True)
        services.webhook_events_queue([2], coalesce=True)  # the first still waits: it takes these up
        assert [call.kwargs["event_ids"] for call in delay.call_args_list] == [[1]]

        from integrations.tasks import webhook_events_process  # the task starts: the mark goes
        with mock.patch.object(services, "webhook_events_process_now"):
            webhook_events_process.run(event_ids=[1], queued_mark=delay.call_args.kwargs["queued_mark"])
        services.webhook_events_queue([3], coalesce=True)

    assert [call.kwargs["event_ids"] for call in delay.call_args_list] == [[1], [3]]


@pytest.fixture
def queued(monkeypatch):
    """The processing tasks queued (their keyword arguments), instead of running them at once."""
    calls: list[dict] = []
    monkeypatch.setattr("integrations.tasks.webhook_events_process.delay", lambda **kwargs: calls.append(kwargs))
    return calls


def _coalesced(event: WebhookEvent) -> None:
    """What the ingress does after a store."""
    services.webhook_events_queue([event.pk], coalesce=True)


def test_a_running_task_takes_up_what_its_process_stores_meanwhile(whatsapp, queued, monkeypatch):
    first = _stored(whatsapp, 0)
    _coalesced(first)
    (task,) = queued
    process = services._process
    stored_meanwhile: list[WebhookEvent] = []

    def process_while_more_arrive(events):
        process(events)
        if len(stored_meanwhile) < 2:  # the process stores again while the task works
            stored_meanwhile.append(event := _stored(whatsapp, len(stored_meanwhile) + 1))
            _coalesced(event)

    monkeypatch.setattr(services, "_process", process_while_more_arrive)

    services.webhook_events_drain(event_ids=task["event_ids"], queued_mark=task["queued_mark"])

    assert len(queued) == 1  # no task for the later stores: the running one took them
    assert set(WebhookEvent.all_objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
    assert Message.all_objects.filter(channel=whatsapp).count() == 3
    _coalesced(_stored(whatsapp, 9))  # it ended: the next store queues a task again
    assert len(queued) == 2


@pytest.mark.parametrize("took_at,left", [(-5, 0), (-15, 1)])
def test_a_successor_reads_from_what_its_chain_took_once_later_stores_have_committed(whatsapp, queued, took_at,
                                                                                   left):
    """Ids come from a sequence when an INSERT starts, so a store can commit after one with a
    higher id that the chain took already: a successor reads from the lowest id its chain
    took at least LATE_COMMIT_SECONDS ago (a store slower than that is the sweep's)."""
    early, later = _stored(whatsapp, 0), _stored(whatsapp, 1)
    now = time.time()

    services.webhook_events_drain(event_ids=[], queued_mark="webhooks:queued:test",
                                  checkpoints=[(now - 30, 0), (now + took_at, later.pk - 1)])

    waiting = WebhookEvent.all_objects.filter(status=WebhookEvent.Status.RECEIVED).values_list("pk", flat=True)
    assert list(waiting) == [early.pk][:left]
    assert WebhookEvent.all_objects.get(pk=later.pk).status == WebhookEvent.Status.PROCESSED


def test_a_webhook_stored_as_the_task_ends_is_taken_up(whatsapp, queued, monkeypatch):
    """Its store found the mark still set and queued nothing; the task looks once more after
    the mark went."""
    first = _stored(whatsapp, 0)
    _coalesced(first)
    (task,) = queued
    real_mark_delete, late = services.mark_delete, []

    def mark_delete(key):
        if not late:
            late.append(event := _stored(whatsapp, 1))
            _coalesced(event)  # the mark is still set: no task
        real_mark_delete(key)

    monkeypatch.setattr(services, "mark_delete", mark_delete)

    services.webhook_events_drain(event_ids=task["event_ids"], queued_mark=task["queued_mark"])

    assert len(queued) == 1
    assert WebhookEvent.all_objects.get(pk=late[0].pk).status == WebhookEvent.Status.PROCESSED


def test_a_draining_task_hands_its_mark_to_a_successor_when_its_time_is_up(whatsapp, queued, monkeypatch):
    monkeypatch.setattr(services, "DRAIN_SECONDS", 0)
    monkeypatch.setattr(services, "BATCH_TOP_UP", 2)
    events = [_stored(whatsapp, index) for index in range(6)]
    _coalesced(events[0])
    (task,) = queued

    services.webhook_events_drain(event_ids=task["event_ids"], queued_mark=task["queued_mark"])

    assert WebhookEvent.all_objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 3  # one batch
    successor = queued[1]
    assert successor["event_ids"] == [] and successor["queued_mark"] == task["queued_mark"]  # with the mark
    assert [floor for _, floor in successor["checkpoints"]] == [events[0].pk]  # where its chain began
    _coalesced(_stored(whatsapp, 9))
    assert len(queued) == 2  # the mark is the successor's: later stores go with it


def test_a_failing_task_lets_its_mark_go(whatsapp, queued, monkeypatch):
    _coalesced(_stored(whatsapp, 0))
    (task,) = queued
    monkeypatch.setattr(services, "_process", mock.Mock(side_effect=RuntimeError("database away")))

    with pytest.raises(RuntimeError):
        services.webhook_events_drain(event_ids=task["event_ids"], queued_mark=task["queued_mark"])

    _coalesced(_stored(whatsapp, 1))
    assert len(queued) == 2  # while the task waits for its retry, later stores get tasks of their own


def test_a_task_queued_by_an_earlier_version_for_later_webhooks_still_takes_them_up(whatsapp):
    from integrations.tasks import webhook_events_process

    own = _stored(whatsapp, 0)
    webhook_events_process_now(event_ids=[own.pk])  # another task's batch took it
    later = _stored(whatsapp, 1)  # stored while that task waited: no task of its own

    webhook_events_process.run(event_ids=[own.pk], takes_up_later=True)

    assert WebhookEvent.all_objects.get(pk=later.pk).status == WebhookEvent.Status.PROCESSED


def test_processed_messages_count_against_the_tenants_month(whatsapp, django_capture_on_commit_callbacks):
    from tenants.services import tenant_messages_this_month

    with django_capture_on_commit_callbacks(execute=True):
        webhook_events_process_now(event_ids=[_stored(whatsapp, 0).pk])  # a new contact: one at a time
        later = [_stored(whatsapp, index) for index in (1, 2)]
        webhook_events_process_now(event_ids=[later[0].pk])  # a known one: the batch path, for both

    assert Message.all_objects.filter(channel=whatsapp).count() == 3
    assert tenant_messages_this_month(tenant=whatsapp.tenant) == 3
