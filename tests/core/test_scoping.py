from __future__ import annotations

import pytest

from channels_app.models import Channel
from conversations.models import Conversation
from tenants.scoping import TenantContextMissing, current_tenant, tenant_context, unscoped
from tests import factories

pytestmark = pytest.mark.django_db


def test_default_manager_refuses_to_run_without_a_tenant(acme):
    factories.ChannelFactory(tenant=acme)

    with pytest.raises(TenantContextMissing):
        list(Channel.objects.all())


def test_default_manager_sees_only_the_current_tenant(acme, globex):
    mine = factories.ConversationFactory(tenant=acme)
    factories.ConversationFactory(tenant=globex)

    with tenant_context(acme):
        assert list(Conversation.objects.values_list("pk", flat=True)) == [mine.pk]
        assert Conversation.objects.filter(pk__gt=0).count() == 1
        assert current_tenant() == acme
    assert current_tenant() is None


def test_unscoped_is_explicit_and_sees_all(acme, globex):
    factories.ConversationFactory(tenant=acme)
    factories.ConversationFactory(tenant=globex)

    with unscoped():
        assert Conversation.objects.count() == 2
        assert current_tenant() is None
    assert Conversation.all_objects.count() == 2


def test_saving_another_tenants_row_in_a_tenant_context_fails(acme, globex):
    channel = factories.ChannelFactory(tenant=globex)

    with tenant_context(acme), pytest.raises(TenantContextMissing):
        channel.name = "hijacked"
        channel.save()


def test_new_rows_take_the_current_tenant(acme):
    with tenant_context(acme):
        channel = Channel(kind="api", name="API")
        channel.save()

    assert channel.tenant_id == acme.pk


def test_related_managers_stay_within_the_rows_tenant(acme, globex):
    conversation = factories.ConversationFactory(tenant=acme)
    conversation.labels.add(factories.LabelFactory(tenant=acme, name="vip"))

    assert list(conversation.labels.values_list("name", flat=True)) == ["vip"]
