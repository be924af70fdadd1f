"""The monthly message count that plan limits read."""

from __future__ import annotations

import datetime as dt

import pytest

from tenants.models import Tenant
from tenants.services import tenant_messages_this_month, tenant_record_messages

pytestmark = pytest.mark.django_db


def test_messages_are_counted_in_this_month(acme):
    tenant_record_messages(tenant=acme, count=3)
    tenant_record_messages(tenant=acme)

    assert tenant_messages_this_month(tenant=acme) == 4
    assert acme.usage_month == Tenant.current_month()


def test_a_new_month_starts_its_count_afresh(acme):
    Tenant.objects.filter(pk=acme.pk).update(usage_month=dt.date(2020, 1, 1), messages_this_month=9_999)

    tenant_record_messages(tenant=acme, count=2)

    assert tenant_messages_this_month(tenant=acme) == 2


def test_other_tenants_are_not_counted(acme, globex):
    tenant_record_messages(tenant=acme, count=5)

    assert tenant_messages_this_month(tenant=globex) == 0
