"""The benchmark's own data: what a killed run leaves behind can be deleted afterwards."""

from __future__ import annotations

import pytest

from accounts.models import User
from benchmarks.harness import bench_data_create, stale_benchmark_tenants, stale_benchmark_tenants_delete
from integrations.models import WebhookEvent
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_what_a_killed_run_left_is_deleted_and_nothing_else(acme):
    data = bench_data_create(run_id="20261129000000-dead", throughput=1000)
    WebhookEvent.all_objects.create(tenant=data.tenant, channel=data.channel, body="{}")

    assert stale_benchmark_tenants_delete() == ["benchmark-whatsapp-20261129000000-dead"]

    assert stale_benchmark_tenants() == []
    assert not User.objects.filter(pk=data.user.pk).exists()
    assert list(Tenant.objects.values_list("pk", flat=True)) == [acme.pk]
