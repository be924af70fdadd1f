"""List endpoints run as many queries for 50 rows as for 5."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _fill(tenant, channel, agent_user, rows: int) -> None:
    team = factories.TeamFactory(tenant=tenant)
    labels = [factories.LabelFactory(tenant=tenant, name=name) for name in ("vip", "financeiro")]
    conversation = None
    for _ in range(rows):
        contact = factories.ContactFactory(tenant=tenant)
        factories.ContactIdentityFactory(contact=contact, tenant=tenant, channel=channel)
        conversation = factories.ConversationFactory(tenant=tenant, channel=channel, contact=contact,
                                                     assignee=agent_user, team=team)
        conversation.labels.set(labels)
        factories.ChannelFactory(tenant=tenant)
    for _ in range(rows):
        factories.MessageFactory(conversation=conversation, sender_user=agent_user)
    return conversation


def _queries(client, path: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"] if isinstance(body, dict) else body) >= rows  # the rows are really listed
    return len(context.captured_queries)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
@pytest.mark.parametrize("path", ["/api/v1/conversations?page_size=100", "/api/v1/contacts?page_size=100",
                                  "/api/v1/channels", "/api/v1/conversations/{conversation}/messages?page_size=100",
                                  "/api/v1/conversations?page_size=100&search=Contact&label=vip"])
def test_list_queries_do_not_grow_with_rows(member, api, path, role):
    counts = []
    for rows in (5, 50):
        tenant = factories.TenantFactory()
        channel = factories.ChannelFactory(tenant=tenant)
        membership = member(tenant, role, channels=(channel,))
        conversation = _fill(tenant, channel, membership.user, rows)
        if role == Role.AGENT:  # the agent works every channel, so it sees every row too
            from channels_app.models import Channel
            from channels_app.services import channel_access_grant

            for other in Channel.all_objects.filter(tenant=tenant):
                channel_access_grant(channel=other, user=membership.user)
        counts.append(_queries(api(membership), path.format(conversation=conversation.public_id), rows))

    assert counts[0] == counts[1], counts
