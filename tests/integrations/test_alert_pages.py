"""Settings → Alerts (admins change the rules, managers see them, agents are refused), the bell
with the unread count in the top bars, and /notifications/ (a member's own notices only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry, Notice, Role
from accounts.notices import notice_send
from channels_app.models import Channel
from integrations.models import AlertIncident, AlertRule
from integrations.monitoring.alerts import alerts_evaluate
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert client.post("/login/", {"email": membership.user.email, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN, language="en")


def test_the_page_lists_the_rules_with_a_firing_one_and_its_incidents(acme, admin):
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja <API>",
                                       status=Channel.Status.DISCONNECTED,
                                       status_changed_at=timezone.now() - dt.timedelta(hours=1))
    alerts_evaluate()

    page = _login(admin).get("/settings/alerts/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="pill is-danger">Firing') == 1 and html.count('class="pill is-success">OK') == 3
    assert "Loja &lt;API&gt;" in html and "Loja <API>" not in html
    assert f'href="/settings/channels/{channel.public_id}/"' in html
    assert "Still holds" in html and "New rule" in html
    assert 'href="/settings/alerts/"' in html  # the settings nav links the page


def test_a_manager_sees_the_rules_without_the_forms_and_cannot_change_them(acme, member):
    manager = _login(member(acme, Role.MANAGER, language="en"))

    page = manager.get("/settings/alerts/")

    assert page.status_code == 200
    assert "New rule" not in page.content.decode() and "Channel disconnected" in page.content.decode()
    rule = AlertRule.all_objects.filter(tenant=acme).first()
    assert manager.post("/settings/alerts/", {"kind": "quota", "threshold": "50"}).status_code == 403
    assert manager.get(f"/settings/alerts/{rule.public_id}/").status_code == 403
    assert manager.post(f"/settings/alerts/{rule.public_id}/delete/").status_code == 403
    assert AlertRule.all_objects.filter(tenant=acme).count() == 5


def test_agents_are_refused(acme, member):
    agent = _login(member(acme, Role.AGENT))

    assert agent.get("/settings/alerts/").status_code == 403
    assert 'href="/settings/alerts/"' not in agent.get("/settings/channels/").content.decode()


def test_an_admin_adds_changes_and_deletes_a_rule(acme, admin):
    client = _login(admin)
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja")

    response = client.post("/settings/alerts/", {"kind": "send_failure_rate", "threshold": "50",
                                                 "window_minutes": "30", "min_attempts": "5",
                                                 "channel": str(channel.public_id), "is_active": "on"})

    assert response.status_code == 302
    rule = AlertRule.all_objects.get(tenant=acme, threshold=50)
    assert (rule.kind, rule.window_minutes, rule.min_attempts, rule.channel, rule.is_active) == (
        "send_failure_rate", 30, 5, channel, True)
    assert "Alert rule added." in client.get("/settings/alerts/").content.decode()

    assert client.post(f"/settings/alerts/{rule.public_id}/", {"threshold": "40", "window_minutes": "30",
                                                               "min_attempts": "5", "channel": ""}).status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold, rule.channel, rule.is_active) == (40, None, False)

    assert client.post(f"/settings/alerts/{rule.public_id}/delete/").status_code == 302
    assert not AlertRule.all_objects.filter(pk=rule.pk).exists()
    assert [entry.action for entry in AuditEntry.all_objects.filter(tenant=acme).order_by("id")
            if entry.action.startswith("alert_rule.")] == [AuditAction.ALERT_RULE_CREATED,
                                                           AuditAction.ALERT_RULE_UPDATED,
                                                           AuditAction.ALERT_RULE_DELETED]


def test_a_threshold_out_of_range_is_shown_on_the_form(acme, admin):
    response = _login(admin).post("/settings/alerts/", {"kind": "quota", "threshold": "150"})

    assert response.status_code == 400
    assert "Give a whole number from 1 to 100." in response.content.decode()
    assert AlertRule.all_objects.filter(tenant=acme, threshold=150).count() == 0


def test_another_tenants_rule_is_a_404(acme, globex, admin):
    theirs = AlertRule.all_objects.create(tenant=globex, kind="quota", threshold=80)
    client = _login(admin)

    assert client.get(f"/settings/alerts/{theirs.public_id}/").status_code == 404
    assert client.post(f"/settings/alerts/{theirs.public_id}/delete/").status_code == 404
    assert AlertRule.all_objects.filter(pk=theirs.pk).exists()


def test_the_bell_counts_the_members_unread_notices_in_both_top_bars(acme, admin, member):
    other = member(acme, Role.TENANT_ADMIN)
    for title in ("One", "Two"):
        notice_send(tenant=acme, user=admin.user, title=title)
    notice_send(tenant=acme, user=other.user, title="Not yours")
    client = _login(admin)

    for path in ("/inbox/", "/settings/alerts/", "/notifications/"):
        html = client.get(path).content.decode()
        assert 'data-notices-unread="2"' in html, path
        assert 'aria-label="Notifications: 2 unread"' in html, path


def test_the_notifications_page_lists_ones_own_newest_first_and_marks_them_read(acme, globex, admin, member):
    notice_send(tenant=acme, user=admin.user, title="Older", url="/settings/alerts/")
    newest = notice_send(tenant=acme, user=admin.user, title="Newer <b>", body="Body text")
    notice_send(tenant=acme, user=member(acme, Role.AGENT).user, title="Someone else's")
    notice_send(tenant=globex, user=admin.user, title="Another account's")
    client = _login(admin)

    html = client.get("/notifications/").content.decode()

    assert html.index("Newer &lt;b&gt;") < html.index("Older")
    assert "Someone else" not in html and "Another account" not in html
    opened = client.post(f"/notifications/{newest.public_id}/open/")
    assert opened.status_code == 302 and opened["Location"] == "/notifications/"
    assert Notice.all_objects.filter(user=admin.user, read_at__isnull=True).count() == 2  # globex's too
    assert client.post("/notifications/read/").status_code == 302
    assert Notice.all_objects.filter(user=admin.user, tenant=acme, read_at__isnull=True).count() == 0
    assert Notice.all_objects.filter(user=admin.user, tenant=globex, read_at__isnull=True).count() == 1


def test_opening_a_notice_goes_where_it_points_and_another_members_is_a_404(acme, admin, member):
    notice = notice_send(tenant=acme, user=admin.user, title="Down", url="/settings/alerts/")
    theirs = notice_send(tenant=acme, user=member(acme, Role.AGENT).user, title="Theirs")
    client = _login(admin)

    assert client.post(f"/notifications/{notice.public_id}/open/")["Location"] == "/settings/alerts/"
    assert client.post(f"/notifications/{theirs.public_id}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_no_notifications_shows_an_empty_state(acme, admin):
    html = _login(admin).get("/notifications/").content.decode()

    assert "No notifications." in html and "Mark all as read" not in html


def test_incidents_of_a_deleted_rule_go_with_it(acme, admin):
    rule = AlertRule.all_objects.create(tenant=acme, kind="quota", threshold=1)
    AlertIncident.all_objects.create(tenant=acme, rule=rule, subject_kind="tenant", subject_id=acme.pk,
                                     started_at=timezone.now())

    _login(admin).post(f"/settings/alerts/{rule.public_id}/delete/")

    assert AlertIncident.all_objects.count() == 0


def test_the_sweep_deletes_notices_past_their_keeping_read_or_not(acme, globex, admin, settings):
    from integrations.tasks import sweep_stuck_work

    settings.NOTICES_KEEP_DAYS = 90
    now = timezone.now()
    old_unread = notice_send(tenant=acme, user=admin.user, title="Old, unread")
    old_read = notice_send(tenant=globex, user=admin.user, title="Old, read")
    recent = notice_send(tenant=acme, user=admin.user, title="Recent")
    Notice.all_objects.filter(pk__in=[old_unread.pk, old_read.pk]).update(created_at=now - dt.timedelta(days=91))
    Notice.all_objects.filter(pk=old_read.pk).update(read_at=now - dt.timedelta(days=90))
    Notice.all_objects.filter(pk=recent.pk).update(created_at=now - dt.timedelta(days=89))

    assert sweep_stuck_work()["notices_pruned"] == 2
    assert list(Notice.all_objects.values_list("title", flat=True)) == ["Recent"]
