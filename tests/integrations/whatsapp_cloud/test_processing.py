"""How stored webhooks are processed (integrations.inbound): in batches that take up what else
is waiting, from the oldest; one at a time when a batch fails; drained by one task per web
process at a time, under a lease that runs out when its task is lost."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest

from conversations.models import Message
from conversations.services import messages_receive
from integrations.inbound import drain as inbound_drain
from integrations.inbound import process as inbound_process
from integrations.inbound.drain import process_lease, webhook_events_drain
from integrations.inbound.process import webhook_events_process_now
from integrations.inbound.tasks import webhook_events_process, webhook_events_queue
from integrations.models import WebhookEvent
from tests.integrations.whatsapp_cloud.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def _stored(channel, index: int) -> WebhookEvent:
    payload = json.loads((FIXTURES / "inbound-text.json").read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = f"wamid.BATCH{index:03d}", f"pedido {index}"
    return WebhookEvent.all_objects.create(tenant_id=channel.tenant_id, channel=channel, body=json.dumps(payload))


def _statuses() -> list[str]:
    return list(WebhookEvent.all_objects.order_by("pk").values_list("status", flat=True))


def test_a_task_takes_up_everything_waiting_from_the_oldest(whatsapp):
    events = [_stored(whatsapp, index) for index in range(5)]

    taken = webhook_events_process_now(event_ids=[events[3].pk])

    assert sorted(taken) == [event.pk for event in events]  # the earlier ones too: nothing waits below
    assert _statuses() == [WebhookEvent.Status.PROCESSED] * 5
    assert Message.all_objects.filter(channel=whatsapp).count() == 5
    assert webhook_events_process_now(event_ids=[events[0].pk]) == []  # its own task finds it done


def test_events_that_failed_before_are_left_to_their_own_task(whatsapp):
    failed_once = _stored(whatsapp, 0)
    WebhookEvent.all_objects.filter(pk=failed_once.pk).update(attempts=1)
    other = _stored(whatsapp, 1)

    webhook_events_process_now(event_ids=[other.pk])

    assert WebhookEvent.all_objects.get(pk=failed_once.pk).status == WebhookEvent.Status.RECEIVED


def test_one_event_that_breaks_processing_fails_alone(whatsapp):
    events = [_stored(whatsapp, index) for index in range(4)]
    poison = "wamid.BATCH002"

    def breaks_on_poison(*, inbound):
        if any(message.provider_message_id == poison for entry in inbound for message in entry.messages):
            raise RuntimeError("a bug this body triggers")
        return messages_receive(inbound=inbound)

    with mock.patch("integrations.inbound.process.messages_receive", breaks_on_poison), pytest.raises(RuntimeError):
        webhook_events_process_now(event_ids=[events[0].pk])

    statuses = dict(WebhookEvent.all_objects.values_list("pk", "status"))
    assert statuses.pop(events[2].pk) == WebhookEvent.Status.RECEIVED
    assert set(statuses.values()) == {WebhookEvent.Status.PROCESSED}
    assert WebhookEvent.all_objects.get(pk=events[2].pk).attempts == 1
    assert Message.all_objects.filter(channel=whatsapp).count() == 3

    webhook_events_process_now(event_ids=[events[2].pk])  # the retry, once the bug is gone
    assert Message.all_objects.filter(channel=whatsapp).count() == 4


def test_an_unreadable_body_fails_with_its_reason_and_holds_back_nothing(whatsapp):
    bad = WebhookEvent.all_objects.create(tenant_id=whatsapp.tenant_id, channel=whatsapp, body="{not json")
    good = _stored(whatsapp, 1)

    webhook_events_process_now(event_ids=[bad.pk])

    bad.refresh_from_db()
    assert bad.status == WebhookEvent.Status.FAILED and "unreadable body" in bad.error
    assert WebhookEvent.all_objects.get(pk=good.pk).status == WebhookEvent.Status.PROCESSED


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


@pytest.fixture
def queued(monkeypatch):
    """The processing tasks queued (their keyword arguments), instead of running them at once."""
    calls: list[dict] = []
    monkeypatch.setattr(webhook_events_process, "delay", lambda **kwargs: calls.append(kwargs))
    return calls


def _coalesced(event: WebhookEvent) -> None:
    """What the ingress does after a store."""
    webhook_events_queue([event.pk], coalesce=True)


def test_a_web_process_keeps_one_task_waiting_at_a_time(whatsapp, queued):
    first, second = _stored(whatsapp, 0), _stored(whatsapp, 1)
    _coalesced(first)
    _coalesced(second)  # the first still waits: it takes this one up
    assert [task["event_ids"] for task in queued] == [[first.pk]]

    drained = webhook_events_drain(event_ids=queued[0]["event_ids"], lease_key=queued[0]["queued_mark"])
    _coalesced(_stored(whatsapp, 2))  # it ended and let its lease go: the next store queues again

    assert not drained.successor
    assert set(_statuses()[:2]) == {WebhookEvent.Status.PROCESSED}
    assert len(queued) == 2


def test_a_running_task_takes_up_what_its_process_stores_meanwhile(whatsapp, queued, monkeypatch):
    _coalesced(_stored(whatsapp, 0))
    (task,) = queued
    batch = inbound_process.webhook_events_batch
    stored_meanwhile: list[WebhookEvent] = []

    def batch_while_more_arrive(*args, **kwargs):
        taken = batch(*args, **kwargs)
        if len(stored_meanwhile) < 2:  # the process stores again while the task works
            stored_meanwhile.append(event := _stored(whatsapp, len(stored_meanwhile) + 1))
            _coalesced(event)
        return taken

    monkeypatch.setattr(inbound_drain, "webhook_events_batch", batch_while_more_arrive)

    webhook_events_drain(event_ids=task["event_ids"], lease_key=task["queued_mark"])

    assert len(queued) == 1  # no task for the later stores: the running one took them
    assert set(_statuses()) == {WebhookEvent.Status.PROCESSED}
    assert Message.all_objects.filter(channel=whatsapp).count() == 3


def test_a_webhook_stored_as_the_task_ends_is_taken_up(whatsapp, queued, monkeypatch):
    """Its store found the lease still held and queued nothing; the task looks once more after
    it let the lease go."""
    _coalesced(_stored(whatsapp, 0))
    (task,) = queued
    from integrations import draining

    real_mark_delete, late = draining.mark_delete, []

    def mark_delete(key):
        if not late:
            late.append(event := _stored(whatsapp, 1))
            _coalesced(event)  # the lease is still held: no task
        real_mark_delete(key)

    monkeypatch.setattr(draining, "mark_delete", mark_delete)

    webhook_events_drain(event_ids=task["event_ids"], lease_key=task["queued_mark"])

    assert len(queued) == 1
    assert WebhookEvent.all_objects.get(pk=late[0].pk).status == WebhookEvent.Status.PROCESSED


def test_a_draining_task_hands_its_lease_to_a_successor_when_its_time_is_up(whatsapp, queued, monkeypatch,
                                                                           django_capture_on_commit_callbacks):
    monkeypatch.setattr(inbound_drain, "DRAIN_SECONDS", 0)
    monkeypatch.setattr(inbound_process, "BATCH_TOP_UP", 2)
    events = [_stored(whatsapp, index) for index in range(6)]
    _coalesced(events[0])
    (task,) = queued

    webhook_events_process.run(event_ids=task["event_ids"], queued_mark=task["queued_mark"])

    assert _statuses().count(WebhookEvent.Status.PROCESSED) == 3  # one batch
    successor = queued[1]
    assert successor["event_ids"] == [] and successor["queued_mark"] == task["queued_mark"]  # with the lease
    assert [floor for _, floor in successor["checkpoints"]] == [events[0].pk - 1]  # where its chain began
    _coalesced(_stored(whatsapp, 9))
    assert len(queued) == 2  # the lease is the successor's: later stores go with it


@pytest.mark.parametrize("took_at,left", [(-5, 0), (-15, 0)])
def test_a_successors_first_batch_reads_from_the_oldest_waiting_webhook(whatsapp, queued, took_at, left):
    """A webhook below where its chain reads (its store committed late, or the task that held it
    died with its worker) is taken up by the next task's first batch, whatever the checkpoints."""
    early, later = _stored(whatsapp, 0), _stored(whatsapp, 1)
    now = time.time()

    webhook_events_drain(event_ids=[], lease_key="webhooks:queued:test",
                         checkpoints=[(now - 30, later.pk - 1), (now + took_at, later.pk - 1)])

    waiting = WebhookEvent.all_objects.filter(status=WebhookEvent.Status.RECEIVED).values_list("pk", flat=True)
    assert list(waiting) == [early.pk][:left]
    assert WebhookEvent.all_objects.get(pk=later.pk).status == WebhookEvent.Status.PROCESSED


def test_a_failing_task_lets_its_lease_go(whatsapp, queued):
    _coalesced(_stored(whatsapp, 0))
    (task,) = queued

    with mock.patch("integrations.inbound.process.messages_receive", side_effect=RuntimeError("database away")), \
            pytest.raises(RuntimeError):
        webhook_events_drain(event_ids=task["event_ids"], lease_key=task["queued_mark"])

    _coalesced(_stored(whatsapp, 1))
    assert len(queued) == 2  # while the task waits for its retry, later stores get tasks of their own


def test_a_lost_tasks_lease_runs_out_and_the_next_store_queues_another(whatsapp, queued, monkeypatch):
    """A worker that dies takes its queued or running task with it: its lease runs out within
    seconds, not the minutes of a sweep."""
    monkeypatch.setattr(inbound_drain, "QUEUED_LEASE_SECONDS", 1)
    _coalesced(_stored(whatsapp, 0))  # queued, then lost with its worker
    _coalesced(_stored(whatsapp, 1))
    assert len(queued) == 1

    time.sleep(1.2)
    _coalesced(_stored(whatsapp, 2))

    assert len(queued) == 2
    webhook_events_drain(event_ids=queued[1]["event_ids"], lease_key=queued[1]["queued_mark"])
    assert set(_statuses()) == {WebhookEvent.Status.PROCESSED}  # the lost task's webhooks too


def test_a_task_queued_by_an_earlier_version_for_later_webhooks_still_takes_them_up(whatsapp):
    own = _stored(whatsapp, 0)
    webhook_events_process_now(event_ids=[own.pk])  # another task's batch took it
    later = _stored(whatsapp, 1)  # stored while that task waited: no task of its own

    webhook_events_process.run(event_ids=[own.pk], takes_up_later=True)

    assert WebhookEvent.all_objects.get(pk=later.pk).status == WebhookEvent.Status.PROCESSED


def test_processed_messages_count_against_the_tenants_month(whatsapp, django_capture_on_commit_callbacks):
    from tenants.services import tenant_messages_this_month

    with django_capture_on_commit_callbacks(execute=True):
        webhook_events_process_now(event_ids=[_stored(whatsapp, 0).pk])  # a new contact
        later = [_stored(whatsapp, index) for index in (1, 2)]
        webhook_events_process_now(event_ids=[later[0].pk])  # a known one, both in one batch

    assert Message.all_objects.filter(channel=whatsapp).count() == 3
    assert tenant_messages_this_month(tenant=whatsapp.tenant) == 3


def test_the_process_lease_is_one_per_web_process():
    assert process_lease().key == process_lease().key and process_lease().key.startswith("webhooks:queued:")
