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
from config.ids import uuid7
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


# Read as values, not instances: a batch of a provider's messages is thousands of rows, and
# instances (five a message, with the channel's credentials decrypted) cost several times more.
_MESSAGE_VALUES = (
    "pk", "public_id", "conversation__public_id", "conversation__contact__public_id", "channel__kind",
    "channel__public_id", "sender_type", "sender_user__public_id", "direction", "type", "status", "content",
    "error_code", "error_message", "provider_message_id", "external_id", "created_at", "sent_at", "delivered_at",
    "read_at", "deleted_at",
)
_CONVERSATION_VALUES = (
    "pk", "public_id", "channel__kind", "channel__public_id", "contact__public_id", "status", "priority",
    "assignee__public_id", "team__public_id", "created_at", "last_activity_at",
)


def _message_data(row: dict[str, Any]) -> dict[str, Any]:
    sender_type = row["sender_type"]
    sender: dict[str, str | None]
    if sender_type == Message.SenderType.CONTACT:
        sender = {"type": "contact", "id": str(row["conversation__contact__public_id"])}
    elif sender_type == Message.SenderType.AGENT:
        sender = {"type": "agent", "id": _text(row["sender_user__public_id"])}
    else:
        sender = {"type": sender_type.lower(), "id": None}
    deleted = row["deleted_at"] is not None
    return {
        "conversation_id": str(row["conversation__public_id"]), "message_id": str(row["public_id"]),
        "sender": sender, "content": "" if deleted else row["content"],
        "channel": row["channel__kind"], "channel_id": str(row["channel__public_id"]),
        "contact_id": str(row["conversation__contact__public_id"]),
        "direction": row["direction"], "type": row["type"], "status": row["status"],
        "error": ({"code": row["error_code"], "message": row["error_message"]}
                  if row["error_code"] or row["error_message"] else None),
        "provider_message_id": row["provider_message_id"], "external_id": row["external_id"],
        "created_at": _iso(row["created_at"]), "sent_at": _iso(row["sent_at"]),
        "delivered_at": _iso(row["delivered_at"]), "read_at": _iso(row["read_at"]),
        "deleted_at": _iso(row["deleted_at"]),
    }


def _conversation_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation_id": str(row["public_id"]), "channel": row["channel__kind"],
        "channel_id": str(row["channel__public_id"]), "contact_id": str(row["contact__public_id"]),
        "status": row["status"], "priority": row["priority"],
        "assignee_id": _text(row["assignee__public_id"]), "team_id": _text(row["team__public_id"]),
        "created_at": _iso(row["created_at"]), "last_activity_at": _iso(row["last_activity_at"]),
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
    messages = ({row["pk"]: row for row in Message.all_objects.filter(pk__in=wanted["message"]).values(
        *_MESSAGE_VALUES)} if wanted["message"] else {})
    conversations = ({row["pk"]: row for row in Conversation.all_objects.filter(pk__in=wanted["conversation"])
                      .values(*_CONVERSATION_VALUES)} if wanted["conversation"] else {})
    contacts = ({c.pk: c for c in Contact.all_objects.filter(pk__in=wanted["contact"])} if wanted["contact"] else {})
    channels = ({c.pk: c for c in Channel.all_objects.filter(pk__in=wanted["channel"]).defer("credentials")}
                if wanted["channel"] else {})
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
        event_id = event.event_id or str(uuid7())  # an event the log did not keep still has an id
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
