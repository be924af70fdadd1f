"""/api/v1/alert-rules (administrators change, managers read, agents are refused; another
account's rule is a 404) and /api/v1/notices (a member's own)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry, Notice, Role
from accounts.notices import notice_send
from channels_app.models import Channel
from integrations.models import AlertRule
from integrations.monitoring.alerts import alerts_evaluate
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN)


def test_the_list_holds_the_default_rules_and_what_fires(acme, admin, api):
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja", status=Channel.Status.ERROR,
                                       status_changed_at=timezone.now() - dt.timedelta(hours=1))
    alerts_evaluate()

    response = api(admin).get("/api/v1/alert-rules")

    assert response.status_code == 200
    rules = {rule["kind"]: rule for rule in response.json()}
    assert set(rules) == {"send_failure_rate", "no_inbound", "channel_disconnected", "webhook_disabled", "quota"}
    assert rules["send_failure_rate"] | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None, "kind": "send_failure_rate", "threshold": 20, "window_minutes": 10, "min_attempts": 10,
        "channel_id": None, "is_active": True, "firing": [], "created_at": None, "updated_at": None}
    [firing] = rules["channel_disconnected"]["firing"]
    assert (firing["subject_kind"], firing["subject"], firing["resolved_at"]) == ("channel", channel.name, None)


def test_an_admin_creates_changes_and_deletes_a_rule(acme, admin, api):
    channel = factories.ChannelFactory(tenant=acme, kind="api")
    client = api(admin)

    created = client.post("/api/v1/alert-rules", {"kind": "send_failure_rate", "threshold": 35,
                                                  "window_minutes": 15, "channel_id": str(channel.public_id)},
                          format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["threshold"], body["window_minutes"], body["min_attempts"], body["channel_id"]) == (
        35, 15, 10, str(channel.public_id))
    url = f"/api/v1/alert-rules/{body['id']}"
    assert client.get(url).json()["id"] == body["id"]

    changed = client.patch(url, {"is_active": False, "channel_id": None}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["is_active"], changed.json()["channel_id"], changed.json()["threshold"]) == (False, None, 35)

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert list(AuditEntry.all_objects.filter(tenant=acme, action__startswith="alert_rule.").order_by("id")
                .values_list("action", flat=True)) == [AuditAction.ALERT_RULE_CREATED, AuditAction.ALERT_RULE_UPDATED,
                                                       AuditAction.ALERT_RULE_DELETED]


def test_a_rule_left_to_its_defaults(acme, admin, api):
    response = api(admin).post("/api/v1/alert-rules", {"kind": "no_inbound"}, format="json")

    assert response.status_code == 201
    assert (response.json()["threshold"], response.json()["is_active"]) == (6, True)


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"kind": "quota", "threshold": 101}, "threshold", 422),  # a percentage
    ({"kind": "no_inbound", "threshold": 721}, "threshold", 422),  # hours: 30 days at most
    ({"kind": "quota", "threshold": "50"}, "threshold", 400),
    ({"kind": "send_failure_rate", "window_minutes": 2}, "window_minutes", 400),
    ({"kind": "send_failure_rate", "min_attempts": 0}, "min_attempts", 400),
    ({"kind": "nonsense"}, "kind", 400),
    ({"kind": "no_inbound", "channel_id": "0190a8c0-0000-7000-8000-000000000000"}, "channel_id", 422),
])
def test_invalid_rules_are_refused_with_the_field_named(acme, admin, api, body, field, status):
    response = api(admin).post("/api/v1/alert-rules", body, format="json")

    assert response.status_code == status
    assert field in response.json()["error"]["details"]
    assert AlertRule.all_objects.filter(tenant=acme).count() in (0, 5)  # the defaults at most


def test_a_channel_rule_on_a_quota_is_refused(acme, admin, api):
    channel = factories.ChannelFactory(tenant=acme, kind="api")

    response = api(admin).post("/api/v1/alert-rules", {"kind": "quota", "channel_id": str(channel.public_id)},
                               format="json")

    assert response.status_code == 422 and "channel" in response.json()["error"]["details"]


def test_another_accounts_rule_and_channel_are_not_found(acme, globex, admin, api):
    theirs = AlertRule.all_objects.create(tenant=globex, kind="quota", threshold=80)
    their_channel = factories.ChannelFactory(tenant=globex, kind="api")
    client = api(admin)

    for response in (client.get(f"/api/v1/alert-rules/{theirs.public_id}"),
                     client.patch(f"/api/v1/alert-rules/{theirs.public_id}", {"threshold": 10}, format="json"),
                     client.delete(f"/api/v1/alert-rules/{theirs.public_id}")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.threshold == 80
    assert str(theirs.public_id) not in {rule["id"] for rule in client.get("/api/v1/alert-rules").json()}
    refused = client.post("/api/v1/alert-rules", {"kind": "no_inbound", "channel_id": str(their_channel.public_id)},
                          format="json")
    assert refused.status_code == 422


def test_managers_read_and_agents_are_refused(acme, member, api):
    manager, agent = api(member(acme, Role.MANAGER)), api(member(acme, Role.AGENT))

    assert manager.get("/api/v1/alert-rules").status_code == 200
    assert manager.post("/api/v1/alert-rules", {"kind": "quota"}, format="json").status_code == 403
    assert agent.get("/api/v1/alert-rules").status_code == 403
    assert AlertRule.all_objects.filter(tenant=acme, kind="quota").count() <= 1


def test_notices_are_ones_own_newest_first_and_marked_read(acme, globex, admin, member, api):
    notice_send(tenant=acme, user=admin.user, title="Older")
    newer = notice_send(tenant=acme, user=admin.user, title="Newer", url="/settings/alerts/")
    notice_send(tenant=acme, user=member(acme, Role.AGENT).user, title="Someone else's")
    notice_send(tenant=globex, user=admin.user, title="Another account's")
    client = api(admin)

    listed = client.get("/api/v1/notices").json()

    assert [notice["title"] for notice in listed["results"]] == ["Newer", "Older"]
    assert listed["results"][0]["url"] == "/settings/alerts/" and listed["results"][0]["read_at"] is None
    assert client.post("/api/v1/notices/read", {"ids": [str(newer.public_id)]}, format="json").json() == {"marked": 1}
    assert client.post("/api/v1/notices/read", {}, format="json").json() == {"marked": 1}
    assert Notice.all_objects.filter(read_at__isnull=True).count() == 2  # the other member's, the other account's
