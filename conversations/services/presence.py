"""A contact typing or recording a voice note: told live to the open thread, never stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from django.db import transaction

from channels_app.models import Channel
from conversations.incoming import IncomingPresence
from conversations.models import Conversation
from conversations.realtime import broadcast_presence


def contacts_presence_tell(*, channel: Channel, presences: Sequence[IncomingPresence]) -> int:
    """Tell the members of `channel` who is typing or recording in which conversation (each
    contact's latest on the channel), once the caller's transaction commits: one read, no
    write, nothing in the event log. A contact the channel does not know is nobody's business.
    How many conversations were told."""
    addresses = sorted({address for presence in presences
                        for address in (presence.contact_external_id, *presence.contact_aliases) if address})
    if not addresses:
        return 0
    newest: dict[str, tuple[datetime, str]] = {}
    for address, public_id, last_activity_at in Conversation.all_objects.filter(
            channel=channel, contact__identities__channel=channel,
            contact__identities__external_id__in=addresses).values_list(
            "contact__identities__external_id", "public_id", "last_activity_at"):
        if address not in newest or last_activity_at > newest[address][0]:
            newest[address] = (last_activity_at, str(public_id))
    states: dict[str, str] = {}  # conversation → the last state said of it
    for presence in presences:
        found = next((newest[address][1] for address in (presence.contact_external_id, *presence.contact_aliases)
                      if address in newest), None)
        if found is not None:
            states[found] = presence.state
    for conversation_id, state in states.items():
        transaction.on_commit(partial(broadcast_presence, tenant_pk=channel.tenant_id, channel_pk=channel.pk,
                                      conversation_id=conversation_id, state=state))
    return len(states)
