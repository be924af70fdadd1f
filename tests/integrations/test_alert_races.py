"""Two evaluations at once (two beats, or a slow one overlapping the next) on PostgreSQL: the
partial unique constraint lets one open the incident, the conditional update lets one resolve
it, and the admins are told once each time."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Notice, Role
from channels_app.models import Channel
from integrations.models import AlertIncident
from integrations.monitoring.alerts import alerts_evaluate
from tests import factories
from tests.concurrency import at_once, concurrent_writers


@concurrent_writers
def test_evaluations_at_once_open_and_resolve_an_incident_once():
    acme = factories.TenantFactory(slug="acme")
    admin = factories.MembershipFactory(tenant=acme, role=Role.TENANT_ADMIN)
    channel = factories.ChannelFactory(tenant=acme, status=Channel.Status.DISCONNECTED,
                                       status_changed_at=timezone.now() - dt.timedelta(hours=1))
    alerts_evaluate(tenant_ids=[acme.pk], now=timezone.now() - dt.timedelta(hours=2))  # the defaults, nothing yet

    at_once([alerts_evaluate] * 4)

    assert AlertIncident.all_objects.filter(resolved_at__isnull=True).count() == 1
    assert Notice.all_objects.filter(user=admin.user).count() == 1

    Channel.all_objects.filter(pk=channel.pk).update(status=Channel.Status.CONNECTED)
    recovered = timezone.now() + dt.timedelta(minutes=10)  # past the recovery grace
    at_once([lambda: alerts_evaluate(now=recovered)] * 4)

    assert AlertIncident.all_objects.filter(resolved_at__isnull=False).count() == 1
    assert AlertIncident.all_objects.count() == 1
    assert Notice.all_objects.filter(user=admin.user).count() == 2
