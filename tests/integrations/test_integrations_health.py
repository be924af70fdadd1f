"""Settings → Integrations health and GET /api/v1/integrations/health: figures read from the
counters, per channel and webhook endpoint, bucketed in the tenant's time zone, drawn as SVG on
the server, for members who read the figures, in a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.access import TenantAccess
from accounts.authentication import SESSION_TENANT_KEY
from accounts.models import Role
from channels_app.models import Channel
from config.crypto import Secrets
from integrations.models import ActivitySlot
from integrations.monitoring.counters import Tally
from integrations.monitoring.figures import integrations_health
from tenants.scoping import tenant_context
from tests import factories
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

CHANNEL, WEBHOOK = ActivitySlot.Subject.CHANNEL, ActivitySlot.Subject.WEBHOOK
# 10:00 in São Paulo (UTC-3).
NOW = dt.datetime(2026, 12, 5, 13, 0, 30, tzinfo=dt.UTC)


def page(membership: Any) -> Client:
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = membership.tenant_id
    session.save()
    return client


def _count(subject: Any, kind: str = CHANNEL, *, at: dt.datetime, **counts: Any) -> None:
    tally = Tally()
    tally.add(kind=kind, subject_pk=subject.pk, tenant_pk=subject.tenant_id, at=at, **counts)
    tally.save()


def _health(tenant: Any, period: str) -> Any:
    membership = factories.MembershipFactory(tenant=tenant, role=Role.TENANT_ADMIN)
    with tenant_context(tenant):
        return integrations_health(access=TenantAccess(tenant=tenant, user=membership.user, role=membership.role),
                                   period=period, now=NOW)


def _endpoint(tenant: Any, url: str = "https://crm.example.com/hooks") -> WebhookEndpoint:
    return WebhookEndpoint.all_objects.create(tenant=tenant, url=url, events=["message.received"],
                                              secret=Secrets({"current": "whsec_dGVzdA=="}))


def test_figures_add_up_the_period_per_channel_with_rates_latency_and_codes(acme):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", name="Vendas")
    _count(channel, at=NOW - dt.timedelta(minutes=30), received=5, last_received_at=NOW - dt.timedelta(minutes=30))
    _count(channel, at=NOW - dt.timedelta(hours=3), attempted=8, latency_ms=200)
    _count(channel, at=NOW - dt.timedelta(hours=3), attempted=2, failed=1, latency_ms=400, error_code="131047")
    _count(channel, at=NOW - dt.timedelta(hours=30), received=100)  # outside the day

    health = _health(acme, "day")

    (figures,) = health.channels
    assert (figures.received, figures.attempted, figures.failed) == (5, 10, 1)
    assert figures.success_rate == 90.0 and figures.latency_ms == 300
    assert figures.errors == [("131047", 1)]
    assert figures.last_received_at == NOW - dt.timedelta(minutes=30)
    assert health.bucket == "hour" and len(figures.buckets) == 24
    assert [bucket.received for bucket in figures.buckets][-2:] == [5, 0]  # 09:00–10:00 local, then 10:00
    assert sum(bucket.attempted for bucket in figures.buckets) == 10

    week = _health(acme, "week")
    assert week.bucket == "day" and len(week.channels[0].buckets) == 7
    assert week.channels[0].received == 105
    hour = _health(acme, "hour")
    assert hour.bucket == "slot" and len(hour.channels[0].buckets) == 12 and hour.channels[0].received == 5


def test_days_are_the_tenants_days(acme):
    """01:00 UTC on the 5th is 22:00 on the 4th in São Paulo: it counts for the 4th."""
    channel = factories.ChannelFactory(tenant=acme)
    _count(channel, at=dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC), received=3)
    health = _health(acme, "week")

    buckets = health.channels[0].buckets
    assert [bucket.start.date().isoformat() for bucket in buckets[-2:]] == ["2026-12-04", "2026-12-05"]
    assert [bucket.received for bucket in buckets[-2:]] == [3, 0]


def test_the_page_shows_each_channel_and_endpoint_with_a_chart_escaped(acme, globex):
    channel = factories.ChannelFactory(tenant=acme, name="<script>alert(1)</script> Vendas",
                                       status=Channel.Status.DISCONNECTED)
    endpoint = _endpoint(acme)
    WebhookEndpoint.all_objects.filter(pk=endpoint.pk).update(failing_since=NOW)
    _count(channel, received=4, attempted=3, failed=1, error_code="131026", at=dt.datetime.now(dt.UTC))
    _count(endpoint, WEBHOOK, attempted=6, failed=2, error_code="HTTP 503", latency_ms=80,
           at=dt.datetime.now(dt.UTC))
    theirs = factories.ChannelFactory(tenant=globex, name="Globex secreto")
    _count(theirs, received=9, at=dt.datetime.now(dt.UTC))

    answer = page(factories.MembershipFactory(tenant=acme, role=Role.TENANT_ADMIN)).get("/settings/health/")

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Vendas" in html
    assert html.count('<svg class="chart"') == 2
    assert "131026" in html and "HTTP 503" in html and "https://crm.example.com/hooks" in html
    assert "Globex secreto" not in html
    assert re.search(r'class="pill is-danger">[^<]*</span>', html)  # the disconnected channel, the failing endpoint


def test_the_page_is_for_those_who_read_the_figures(acme):
    factories.ChannelFactory(tenant=acme)
    agent = page(factories.MembershipFactory(tenant=acme, role=Role.AGENT))
    manager = page(factories.MembershipFactory(tenant=acme, role=Role.MANAGER))

    assert agent.get("/settings/health/").status_code == 403
    answer = manager.get("/settings/health/?period=week")
    assert answer.status_code == 200
    assert "Webhook endpoints" not in answer.content.decode()  # managers do not read webhooks


def test_an_empty_account_is_told_what_to_do(acme):
    answer = page(factories.MembershipFactory(tenant=acme, role=Role.TENANT_ADMIN)).get("/settings/health/")

    assert "/settings/channels/" in answer.content.decode()


def test_queries_do_not_grow_with_channels_and_endpoints(acme):
    admin = page(factories.MembershipFactory(tenant=acme, role=Role.TENANT_ADMIN))
    factories.ChannelFactory(tenant=acme)
    admin.get("/settings/health/")
    with CaptureQueriesContext(connection) as few:
        admin.get("/settings/health/")
    for _ in range(6):
        channel = factories.ChannelFactory(tenant=acme)
        _count(channel, received=1, failed=1, error_code="x", at=dt.datetime.now(dt.UTC))
    for number in range(3):
        _endpoint(acme, url=f"https://crm.example.com/{number}")
    with CaptureQueriesContext(connection) as many:
        admin.get("/settings/health/")

    assert len(many) == len(few)


def test_the_api_gives_the_same_figures(acme, globex, member, api):
    channel = factories.ChannelFactory(tenant=acme, name="Vendas")
    _count(channel, received=2, attempted=4, failed=1, error_code="131047", latency_ms=150,
           at=dt.datetime.now(dt.UTC))
    factories.ChannelFactory(tenant=globex, name="Globex")
    client = api(member(acme, Role.TENANT_ADMIN))

    answer = client.get("/api/v1/integrations/health?period=hour")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["period"] == "hour" and body["bucket"] == "slot"
    (row,) = body["channels"]
    assert row["id"] == str(channel.public_id) and row["name"] == "Vendas"
    assert (row["received"], row["attempted"], row["failed"], row["success_rate"]) == (2, 4, 1, 75.0)
    assert row["error_codes"] == [{"code": "131047", "count": 1}] and row["latency_ms"] == 150
    assert len(row["buckets"]) == 12 and body["plan"]["limit"] == acme.max_messages_per_month


def test_the_api_refuses_an_unknown_period_and_a_role_without_figures(acme, member, api):
    admin = api(member(acme, Role.TENANT_ADMIN))
    answer = admin.get("/api/v1/integrations/health?period=year")
    assert answer.status_code == 422 and "period" in answer.json()["error"]["details"]

    assert api(member(acme, Role.AGENT)).get("/api/v1/integrations/health").status_code == 403
