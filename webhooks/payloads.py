"""What an integrator receives: our domain events under the seed's public names, in the seed's
envelope (`{"event", "timestamp", "data"}`, seed 002 §6.4), extended with `version` and `id`.

Ids are the REST API's public ids; statuses and kinds are spelled as the REST API spells them.
Each batch of events is read with one query per kind of row (messages, conversations,
contacts, channels), whatever its size."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from channels_app.models import Channel
from contacts.models import Contact
from conversations.models import Conversation, Message
from tenants.events import DomainEvent

PAYLOAD_VERSION = 1
TEST_EVENT = "webhook.test"

# The public names an endpoint may subscribe to, with what each tells.
EVENT_NAMES: dict[str, str] = {
    "message.received": "A contact's message arrived (inbound).",
    "message.created": "A message was sent from the inbox or the API (outbound; private notes are not sent).",
    "message.status_changed": "An outbound message was sent, delivered, read or failed.",
    "message.updated": "A message was edited or deleted.",
    "conversation.created": "A conversation began.",
    "conversation.updated": "A conversation's labels, priority or snooze time changed.",
    "conversation.status_changed": "A conversation was opened, set pending, snoozed or resolved.",
    "conversation.assigned": "A conversation was assigned to an agent or a team (or unassigned).",
    "contact.created": "A contact was created.",
    "contact.updated": "A contact's details changed.",
    "channel.status_changed": "A channel connected, disconnected or failed.",
}


@dataclass(frozen=True)
class OutboundEvent:
    """One event as integrators receive it: its public name, its body, and the key that keeps
    the events of one conversation in order."""

    tenant_pk: int
    event_id: str
    name: str
    body: dict[str, Any]
    ordering_key: str


def public_name(event: DomainEvent) -> str | None:
    """The public name of a domain event, or None when integrators are not told of it."""
    name = event.name
    if name == "message.created":
        if getattr(event, "private", False):
            return None
        return "message.received" if getattr(event, "direction", "") == "INBOUND" else "message.created"
    return name if name in EVENT_NAMES else None


def envelope(*, name: str, data: dict[str, Any], event_id: str, at: dt.datetime) -> dict[str, Any]:
    return {"event": name, "version": PAYLOAD_VERSION, "id": event_id,
            "timestamp": timestamp_text(at), "data": data}


def timestamp_text(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: dt.datetime | None) -> str | None:
    return timestamp_text(value) if value is not None else None


def _message_data(message: Message) -> dict[str, Any]:
    conversation = message.conversation
    sender: dict[str, str | None]
    if message.sender_type == Message.SenderType.CONTACT:
        sender = {"type": "contact", "id": str(conversation.contact.public_id)}
    elif message.sender_type == Message.SenderType.AGENT:
        sender = {"type": "agent", "id": _text(message.sender_user.public_id) if message.sender_user else None}
    else:
        sender = {"type": message.sender_type.lower(), "id": None}
    deleted = message.deleted_at is not None
    return {
        "conversation_id": str(conversation.public_id), "message_id": str(message.public_id),
        "sender": sender, "content": "" if deleted else message.content,
        "channel": message.channel.kind, "channel_id": str(message.channel.public_id),
        "contact_id": str(conversation.contact.public_id),
        "direction": message.direction, "type": message.type, "status": message.status,
        "error": ({"code": message.error_code, "message": message.error_message}
                  if message.error_code or message.error_message else None),
        "provider_message_id": message.provider_message_id, "external_id": message.external_id,
        "created_at": _iso(message.created_at), "sent_at": _iso(message.sent_at),
        "delivered_at": _iso(message.delivered_at), "read_at": _iso(message.read_at),
        "deleted_at": _iso(message.deleted_at),
    }


def _conversation_data(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": str(conversation.public_id), "channel": conversation.channel.kind,
        "channel_id": str(conversation.channel.public_id), "contact_id": str(conversation.contact.public_id),
        "status": conversation.status, "priority": conversation.priority,
        "assignee_id": _text(conversation.assignee.public_id) if conversation.assignee else None,
        "team_id": _text(conversation.team.public_id) if conversation.team else None,
        "created_at": _iso(conversation.created_at), "last_activity_at": _iso(conversation.last_activity_at),
    }


def _contact_data(contact: Contact) -> dict[str, Any]:
    return {"contact_id": str(contact.public_id), "name": contact.name, "phone": contact.phone,
            "email": contact.email, "language": contact.language, "attributes": contact.attributes}


def _channel_data(channel: Channel) -> dict[str, Any]:
    return {"channel_id": str(channel.public_id), "channel": channel.kind, "name": channel.name,
            "status": channel.status}


# What each kind of event adds of its own (what changed), beyond the row as it is now.
_EXTRA_FIELDS = ("old_status", "new_status", "changed", "actor_id", "previous_assignee_id", "error_code")


def outbound_events(events: Iterable[tuple[DomainEvent, str]], *, at: dt.datetime) -> list[OutboundEvent]:
    """The bodies of `events` (each with its public name), rows read in one query per kind.
    An event whose row is gone by now is left out."""
    pairs = list(events)
    wanted: dict[str, set[int]] = {"message": set(), "conversation": set(), "contact": set(), "channel": set()}
    for event, name in pairs:
        wanted[name.split(".", 1)[0]].add(_row_pk(event, name))
    messages = ({m.pk: m for m in Message.all_objects.filter(pk__in=wanted["message"]).select_related(
        "conversation__contact", "channel", "sender_user")} if wanted["message"] else {})
    conversations = ({c.pk: c for c in Conversation.all_objects.filter(pk__in=wanted["conversation"]).select_related(
        "contact", "channel", "assignee", "team")} if wanted["conversation"] else {})
    contacts = ({c.pk: c for c in Contact.all_objects.filter(pk__in=wanted["contact"])} if wanted["contact"] else {})
    channels = ({c.pk: c for c in Channel.all_objects.filter(pk__in=wanted["channel"])} if wanted["channel"] else {})
    found: list[OutboundEvent] = []
    for event, name in pairs:
        kind, pk = name.split(".", 1)[0], _row_pk(event, name)
        key = ""
        if kind == "message":
            message = messages.get(pk)
            if message is None:
                continue
            data = _message_data(message)
            key = data["conversation_id"]
        elif kind == "conversation":
            conversation = conversations.get(pk)
            if conversation is None:
                continue
            data = _conversation_data(conversation)
            key = data["conversation_id"]
        elif kind == "contact":
            contact = contacts.get(pk)
            if contact is None:
                continue
            data = _contact_data(contact)
        else:
            channel = channels.get(pk)
            if channel is None:
                continue
            data = _channel_data(channel)
        payload = event.payload()
        for field in _EXTRA_FIELDS:
            if field in payload:
                data[field] = list(payload[field]) if isinstance(payload[field], tuple) else payload[field]
        event_id = event.event_id or ""
        found.append(OutboundEvent(tenant_pk=event.tenant_pk, event_id=event_id, name=name,
                                   body=envelope(name=name, data=data, event_id=event_id, at=at),
                                   ordering_key=key))
    return found


def _row_pk(event: DomainEvent, name: str) -> int:
    pk: int = getattr(event, f"{name.split('.', 1)[0]}_pk")
    return pk


def test_body(*, endpoint_id: str, event_id: str, at: dt.datetime) -> dict[str, Any]:
    return envelope(name=TEST_EVENT, event_id=event_id, at=at,
                    data={"webhook_id": endpoint_id, "message": "A test event: this endpoint is reachable."})
