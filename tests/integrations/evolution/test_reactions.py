"""An agent's reaction goes to Evolution as sendReaction, naming the reacted message's key."""

from __future__ import annotations

import json

import pytest

from accounts.models import Role
from conversations.models import Message
from tests import factories
from tests.integrations.evolution.conftest import CUSTOMER, INSTANCE

pytestmark = pytest.mark.django_db


def test_a_reaction_is_sent_with_the_messages_key(evolution, conversation, member, api,
                                                   django_capture_on_commit_callbacks):
    inbound = factories.MessageFactory(conversation=conversation, provider_message_id="3EB0REACTME0000000001")
    mine = factories.MessageFactory(conversation=conversation, provider_message_id="3EB0OURS00000000000001",
                                    direction=Message.Direction.OUTBOUND, sender_type=Message.SenderType.AGENT,
                                    status=Message.Status.READ)
    client = api(member(conversation.tenant, Role.AGENT, channels=(conversation.channel,)))
    url = f"/api/v1/conversations/{conversation.public_id}/messages"

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {"type": "REACTION", "content": "🙏", "reply_to_id": str(inbound.public_id)},
                            format="json")
        second = client.post(url, {"type": "REACTION", "content": "👍", "reply_to_id": str(mine.public_id)},
                             format="json")

    assert first.status_code == second.status_code == 201
    reactions = [request for request in evolution.requests if request["path"] == f"/message/sendReaction/{INSTANCE}"]
    assert [json.loads(request["body"]) for request in reactions] == [
        {"key": {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": False, "id": "3EB0REACTME0000000001"},
         "reaction": "🙏"},
        {"key": {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": True, "id": "3EB0OURS00000000000001"},
         "reaction": "👍"},
    ]
    assert Message.all_objects.get(public_id=first.json()["id"]).status == Message.Status.SENT
