from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts.models import Role
from conversations.services import message_send
from tests import factories


@pytest.fixture
def world(acme, globex, member):
    """Two tenants with the same shape: a channel the agent works and one it does not,
    a conversation in each with messages and a note, and members of every role."""

    def build(tenant, prefix):
        worked = factories.ChannelFactory(tenant=tenant, name=f"{prefix} WhatsApp")
        other = factories.ChannelFactory(tenant=tenant, name=f"{prefix} Email", kind="email")
        contact = factories.ContactFactory(tenant=tenant, name=f"{prefix} Maria Silva", email=f"maria@{prefix}.test")
        conversation = factories.ConversationFactory(tenant=tenant, channel=worked, contact=contact)
        hidden = factories.ConversationFactory(tenant=tenant, channel=other, contact=contact)
        inbound = factories.MessageFactory(conversation=conversation, content=f"{prefix} pedido atrasado")
        members = SimpleNamespace(
            admin=member(tenant, Role.TENANT_ADMIN),
            manager=member(tenant, Role.MANAGER),
            agent=member(tenant, Role.AGENT, channels=(worked,)),
            viewer=member(tenant, Role.VIEWER, channels=(worked,)),
        )
        note, _ = message_send(conversation=conversation, actor=members.agent.user, content="nota", private=True)
        label = factories.LabelFactory(tenant=tenant, name=f"{prefix}-vip")
        conversation.labels.add(label)
        team = factories.TeamFactory(tenant=tenant, name=f"{prefix} Vendas")
        canned = factories.CannedResponseFactory(tenant=tenant, short_code=f"{prefix}-ola", content=f"{prefix} olá")
        return SimpleNamespace(tenant=tenant, channel=worked, other_channel=other, contact=contact,
                               conversation=conversation, hidden_conversation=hidden, message=inbound, note=note,
                               label=label, team=team, canned=canned, **vars(members))

    return SimpleNamespace(acme=build(acme, "acme"), globex=build(globex, "globex"))
