"""Alerts (integrations.monitoring.alerts): each kind of rule opens an incident when its condition
starts holding, tells the tenant's admins once (a notice and an email in their language), says
nothing while it holds, and tells once when it clears; two evaluations at once tell once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Notice, Role
from channels_app.models import Channel
from integrations.models import ActivitySlot, AlertDefaults, AlertIncident, AlertRule
from integrations.monitoring.alert_rules import alert_rule_create, alert_rule_delete, alert_rule_update
from integrations.monitoring.alerts import (
    Finding,
    _incident_open,
    _incident_resolve,
    alert_defaults_ensure,
    alerts_evaluate,
)
from integrations.monitoring.counters import activity_add
from integrations.tasks import alerts_evaluate_task
from tests import factories
from webhooks.services import webhook_endpoint_disable, webhook_endpoint_enable, webhook_endpoint_register

pytestmark = pytest.mark.django_db

Kind = AlertRule.Kind
CHANNEL = ActivitySlot.Subject.CHANNEL


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN, language="en")


@pytest.fixture
def channel(acme):
    return factories.ChannelFactory(tenant=acme, kind="api", name="Loja (API)")


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks):
    """alerts_evaluate(now=...), its emails sent (after its commits)."""

    def run(at, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return alerts_evaluate(now=at, **kwargs)

    return run


def _rule(tenant, kind) -> AlertRule:
    alert_defaults_ensure(tenant_ids=[tenant.pk])
    return AlertRule.all_objects.get(tenant=tenant, kind=kind)


def _notices(membership) -> list[Notice]:
    return list(Notice.all_objects.filter(user=membership.user, tenant=membership.tenant).order_by("id"))


def test_a_failing_channel_fires_once_stays_quiet_and_recovers_once(acme, admin, member, channel, now, evaluate,
                                                                    mailoutbox):
    agent = member(acme, Role.AGENT)
    activity_add(kind=CHANNEL, subject_pk=channel.pk, tenant_pk=acme.pk, at=now, attempted=10, failed=3)

    first = evaluate(now)
    again = evaluate(now + dt.timedelta(minutes=1))

    assert (first.opened, again.opened, again.resolved) == (1, 0, 0)
    [incident] = AlertIncident.all_objects.filter(rule__kind=Kind.SEND_FAILURE_RATE)
    assert (incident.subject_kind, incident.subject_id, incident.value) == ("channel", channel.pk, 30.0)
    assert incident.resolved_at is None and incident.notified_at is not None
    [notice] = _notices(admin)
    assert notice.title == "Sends failing on Loja (API)"
    assert "30% of the messages sent on Loja (API) in the last 10 minutes failed" in notice.body
    assert notice.url == f"/settings/channels/{channel.public_id}/" and notice.read_at is None
    assert _notices(agent) == []
    [mail] = mailoutbox
    assert mail.to == [admin.user.email] and mail.subject == "[Acme] Sends failing on Loja (API)"
    assert f"/settings/channels/{channel.public_id}/" in mail.body and "/settings/alerts/" in mail.body

    # The failing slots leave the window: the channel recovers, once.
    later = now + dt.timedelta(minutes=20)
    cleared, after = evaluate(later), evaluate(later + dt.timedelta(minutes=1))

    assert (cleared.resolved, after.opened, after.resolved) == (1, 0, 0)
    incident.refresh_from_db()
    assert incident.resolved_at == later and incident.recovery_notified_at == later
    assert [n.title for n in _notices(admin)] == ["Sends failing on Loja (API)",
                                                  "Sends on Loja (API) are back to normal"]
    assert [mail.subject for mail in mailoutbox][1:] == ["[Acme] Sends on Loja (API) are back to normal"]


def test_a_few_failures_below_the_minimum_of_sends_do_not_fire(acme, admin, channel, now, evaluate, mailoutbox):
    activity_add(kind=CHANNEL, subject_pk=channel.pk, tenant_pk=acme.pk, at=now, attempted=1, failed=1)

    assert evaluate(now).opened == 0
    assert _notices(admin) == [] and mailoutbox == []


def test_a_failure_rate_below_the_threshold_does_not_fire(acme, admin, channel, now, evaluate):
    activity_add(kind=CHANNEL, subject_pk=channel.pk, tenant_pk=acme.pk, at=now, attempted=100, failed=19)

    assert evaluate(now).opened == 0


def test_a_rule_on_one_channel_ignores_the_others(acme, admin, channel, now, evaluate):
    other = factories.ChannelFactory(tenant=acme, kind="api", name="Outro")
    rule = _rule(acme, Kind.SEND_FAILURE_RATE)
    alert_rule_update(tenant=acme, actor=None, rule=rule, channel=other)
    activity_add(kind=CHANNEL, subject_pk=channel.pk, tenant_pk=acme.pk, at=now, attempted=10, failed=10)

    assert evaluate(now).opened == 0

    activity_add(kind=CHANNEL, subject_pk=other.pk, tenant_pk=acme.pk, at=now, attempted=10, failed=10)
    assert evaluate(now).opened == 1
    assert AlertIncident.all_objects.get().subject_id == other.pk


def test_a_channel_silent_for_hours_fires_when_the_rule_is_on_and_recovers_when_a_message_arrives(
        acme, admin, channel, now, evaluate):
    later = now + dt.timedelta(hours=7)
    assert evaluate(later).opened == 0  # the default rule is switched off

    alert_rule_update(tenant=acme, actor=None, rule=_rule(acme, Kind.NO_INBOUND), is_active=True)
    assert evaluate(now + dt.timedelta(hours=5)).opened == 0  # not 6 hours yet
    assert evaluate(later).opened == 1
    assert _notices(admin)[-1].title == "No messages on Loja (API) for 6 hours"

    activity_add(kind=CHANNEL, subject_pk=channel.pk, tenant_pk=acme.pk, at=later, received=1, last_received_at=later)
    assert evaluate(later + dt.timedelta(minutes=1)).resolved == 0  # recovered for less than 5 minutes
    assert evaluate(later + dt.timedelta(minutes=5)).resolved == 1
    assert _notices(admin)[-1].title == "Loja (API) receives messages again"


def test_a_channel_received_from_within_the_hours_does_not_fire(acme, admin, channel, now, evaluate):
    alert_rule_update(tenant=acme, actor=None, rule=_rule(acme, Kind.NO_INBOUND), is_active=True)
    at = now + dt.timedelta(hours=5)
    activity_add(kind=CHANNEL, subject_pk=channel.pk, tenant_pk=acme.pk, at=at, received=2, last_received_at=at)

    assert evaluate(now + dt.timedelta(hours=7)).opened == 0


def test_a_disconnected_channel_fires_after_its_grace_and_recovers_when_connected(acme, admin, channel, now,
                                                                                   evaluate, mailoutbox):
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.DISCONNECTED, status_changed_at=now)

    assert evaluate(now + dt.timedelta(minutes=2)).opened == 0  # a blip
    assert evaluate(now + dt.timedelta(minutes=6)).opened == 1
    assert evaluate(now + dt.timedelta(minutes=7)).opened == 0
    assert [n.title for n in _notices(admin)] == ["Channel Loja (API) is disconnected"]

    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.CONNECTED)
    assert evaluate(now + dt.timedelta(minutes=12)).resolved == 1  # 5 minutes after it last held
    assert _notices(admin)[-1].title == "Channel Loja (API) is connected again"
    assert len(mailoutbox) == 2


def test_a_channel_in_error_fires_too(acme, admin, channel, now, evaluate):
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.ERROR,
                                                     status_changed_at=now - dt.timedelta(hours=1))

    assert evaluate(now).opened == 1


def test_a_disabled_webhook_endpoint_fires_and_recovers_when_enabled(acme, admin, now, evaluate, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = webhook_endpoint_register(tenant=acme, actor=None, url="https://hooks.example.com/in",
                                            events=["message.received"])
    assert evaluate(now).opened == 0

    webhook_endpoint_disable(tenant=acme, actor=None, endpoint=endpoint, reason="by hand")
    assert evaluate(now).opened == 1
    assert evaluate(now).opened == 0
    [incident] = AlertIncident.all_objects.all()
    assert (incident.subject_kind, incident.subject_id) == ("webhook", endpoint.pk)
    assert _notices(admin)[-1].url == f"/settings/webhooks/{endpoint.public_id}/"

    webhook_endpoint_enable(tenant=acme, actor=None, endpoint=endpoint)
    assert evaluate(now + dt.timedelta(minutes=5)).resolved == 1
    assert _notices(admin)[-1].title == "Webhook endpoint enabled again: https://hooks.example.com/in"


def test_the_monthly_quota_fires_from_90_percent_and_recovers(acme, admin, now, evaluate):
    acme.max_messages_per_month, acme.usage_month, acme.messages_this_month = 1000, acme.current_month(), 899
    acme.save()
    assert evaluate(now).opened == 0

    acme.messages_this_month = 905
    acme.save()
    assert evaluate(now).opened == 1
    assert _notices(admin)[-1].title == "90.5% of this month's messages used"

    acme.usage_month = dt.date(2000, 1, 1)  # a new month began
    acme.save()
    assert evaluate(now + dt.timedelta(minutes=5)).resolved == 1


def test_a_value_hovering_at_its_threshold_keeps_one_incident(acme, admin, now, evaluate, settings):
    """An incident is resolved only once its condition has not held for ALERT_RECOVERY_MINUTES:
    a quota going over and under 90 % keeps one incident and tells once each way."""
    settings.ALERT_RECOVERY_MINUTES = 5
    acme.max_messages_per_month, acme.usage_month = 1000, acme.current_month()

    for minute, used, opened, resolved in [(0, 905, 1, 0), (1, 899, 0, 0), (2, 905, 0, 0), (6, 899, 0, 0),
                                           (7, 899, 0, 1), (8, 899, 0, 0)]:
        acme.messages_this_month = used
        acme.save()
        result = evaluate(now + dt.timedelta(minutes=minute))
        assert (result.opened, result.resolved) == (opened, resolved), minute

    assert AlertIncident.all_objects.count() == 1
    assert [n.title for n in _notices(admin)] == ["90.5% of this month's messages used",
                                                  "Monthly message use below 90% again"]


def test_an_unlimited_plan_never_fires_the_quota(acme, admin, now, evaluate):
    acme.max_messages_per_month, acme.usage_month, acme.messages_this_month = 0, acme.current_month(), 10**6
    acme.save()

    assert evaluate(now).opened == 0


def test_tenants_are_told_only_of_their_own(acme, globex, admin, member, channel, now, evaluate, mailoutbox):
    theirs = member(globex, Role.TENANT_ADMIN)
    factories.ChannelFactory(tenant=globex, kind="api", name="Globex API")
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.DISCONNECTED,
                                                     status_changed_at=now - dt.timedelta(hours=1))

    assert evaluate(now).opened == 1

    assert AlertIncident.all_objects.get().tenant_id == acme.pk
    assert len(_notices(admin)) == 1 and _notices(theirs) == []
    assert [mail.to for mail in mailoutbox] == [[admin.user.email]]


def test_each_admin_is_told_in_their_language(acme, admin, member, channel, now, evaluate, mailoutbox):
    portuguese = member(acme, Role.TENANT_ADMIN)  # no language of their own: the tenant's (pt-br)
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.DISCONNECTED,
                                                     status_changed_at=now - dt.timedelta(hours=1))

    evaluate(now)

    assert _notices(admin)[0].title == "Channel Loja (API) is disconnected"
    assert _notices(portuguese)[0].title == "O canal Loja (API) está desconectado"
    subjects = {mail.to[0]: mail.subject for mail in mailoutbox}
    assert subjects[portuguese.user.email] == "[Acme] O canal Loja (API) está desconectado"


def test_the_email_is_plain_text_with_the_name_as_written(acme, admin, now, evaluate, mailoutbox):
    factories.ChannelFactory(tenant=acme, kind="api", name="Loja <Centro> & Cia", status=Channel.Status.ERROR,
                             status_changed_at=now - dt.timedelta(hours=1))

    evaluate(now)

    [mail] = mailoutbox
    assert "The channel Loja <Centro> & Cia is disconnected or in error" in mail.body
    assert "&lt;" not in mail.body and "&amp;" not in mail.body


def test_a_suspended_tenant_is_not_evaluated(acme, admin, channel, now, evaluate):
    acme.status = acme.Status.SUSPENDED
    acme.save()
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.DISCONNECTED,
                                                     status_changed_at=now - dt.timedelta(hours=1))

    assert evaluate(now).opened == 0


def test_two_evaluations_at_once_open_and_resolve_an_incident_once(acme, admin, channel, now):
    rule = _rule(acme, Kind.CHANNEL_DISCONNECTED)
    finding = Finding(subject_kind="channel", subject_id=channel.pk, label=channel.name)

    # Both saw no open incident; the second insert meets the first's row.
    assert _incident_open(rule, finding, now) is True
    assert _incident_open(rule, finding, now) is False
    incident = AlertIncident.all_objects.get()
    # Both saw it open; the second update finds it resolved.
    assert _incident_resolve(rule, incident, now) is True
    assert _incident_resolve(rule, AlertIncident.all_objects.get(), now) is False

    assert [n.title for n in _notices(admin)] == ["Channel Loja (API) is disconnected",
                                                  "Channel Loja (API) is connected again"]


def test_a_condition_that_holds_again_after_recovering_opens_a_new_incident(acme, admin, channel, now, evaluate):
    down = {"status": Channel.Status.DISCONNECTED, "status_changed_at": now - dt.timedelta(hours=1)}
    Channel.all_objects.filter(pk=channel.pk).update(**down)
    evaluate(now)
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.CONNECTED)
    evaluate(now + dt.timedelta(minutes=5))
    Channel.all_objects.filter(pk=channel.pk).update(**down)
    evaluate(now + dt.timedelta(minutes=6))

    assert AlertIncident.all_objects.count() == 2
    assert AlertIncident.all_objects.filter(resolved_at__isnull=True).count() == 1
    assert len(_notices(admin)) == 3


def test_switching_a_rule_off_closes_its_incident_without_a_notice(acme, admin, channel, now, evaluate):
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.DISCONNECTED,
                                                     status_changed_at=now - dt.timedelta(hours=1))
    evaluate(now)
    rule = _rule(acme, Kind.CHANNEL_DISCONNECTED)

    alert_rule_update(tenant=acme, actor=admin.user, rule=rule, is_active=False)

    assert evaluate(now).opened == 0
    incident = AlertIncident.all_objects.get()
    assert incident.resolved_at is not None and incident.recovery_notified_at is None
    assert len(_notices(admin)) == 1


def test_every_tenant_gets_the_default_rules_once(acme, globex, now, evaluate):
    evaluate(now)

    kinds = sorted(AlertRule.all_objects.filter(tenant=acme).values_list("kind", "threshold", "is_active"))
    assert kinds == [("channel_disconnected", 5, True), ("no_inbound", 6, False), ("quota", 90, True),
                     ("send_failure_rate", 20, True), ("webhook_disabled", 0, True)]
    assert AlertRule.all_objects.filter(tenant=globex).count() == 5

    alert_rule_delete(tenant=acme, actor=None, rule=AlertRule.all_objects.get(tenant=acme, kind=Kind.QUOTA))
    evaluate(now)
    assert AlertRule.all_objects.filter(tenant=acme).count() == 4
    assert AlertDefaults.all_objects.filter(tenant=acme).count() == 1


def test_a_rule_of_ones_own_comes_with_the_defaults(acme):
    alert_rule_create(tenant=acme, actor=None, kind=Kind.SEND_FAILURE_RATE, threshold=50, window_minutes=30)

    assert AlertRule.all_objects.filter(tenant=acme).count() == 6


def test_the_beat_task_evaluates_the_rules(acme, admin, channel, now, django_capture_on_commit_callbacks):
    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.DISCONNECTED,
                                                     status_changed_at=now - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        result = alerts_evaluate_task()

    assert result["opened"] == 1 and result["rules"] >= 4
    assert len(_notices(admin)) == 1
