"""The conversations' events. As every event (tenants.events): `*_pk` fields are integer
primary keys for the server's listeners, `*_id` fields are public ids (UUID strings) for
clients, and only the latter are in the payload."""

from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationCreated(DomainEvent):
    name = "conversation.created"
    conversation_pk: int
    channel_pk: int
    conversation_id: str
    channel_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationStatusChanged(DomainEvent):
    name = "conversation.status_changed"
    conversation_pk: int
    channel_pk: int
    conversation_id: str
    channel_id: str
    old_status: str
    new_status: str
    actor_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationAssigned(DomainEvent):
    name = "conversation.assigned"
    conversation_pk: int
    channel_pk: int
    conversation_id: str
    channel_id: str
    assignee_id: str | None
    previous_assignee_id: str | None
    team_id: str | None
    actor_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationUpdated(DomainEvent):
    """Labels, priority, snooze time: what is neither status nor assignment."""

    name = "conversation.updated"
    conversation_pk: int
    channel_pk: int
    conversation_id: str
    channel_id: str
    changed: tuple[str, ...]
    actor_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageCreated(DomainEvent):
    name = "message.created"
    message_pk: int
    conversation_pk: int
    channel_pk: int
    message_id: str
    conversation_id: str
    channel_id: str
    direction: str
    private: bool
    # The contact's media is still at the provider (it is fetched after the message is stored).
    has_media: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageUpdated(DomainEvent):
    name = "message.updated"
    message_pk: int
    conversation_pk: int
    channel_pk: int
    message_id: str
    conversation_id: str
    channel_id: str
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationRead(DomainEvent):
    """An agent opened the conversation: its inbound messages count as read."""

    name = "conversation.read"
    conversation_pk: int
    channel_pk: int
    conversation_id: str
    channel_id: str
    actor_id: str | None
    # The newest inbound message (what the provider is told was read).
    last_read_message_pk: int | None
    last_read_message_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageStatusChanged(DomainEvent):
    name = "message.status_changed"
    message_pk: int
    conversation_pk: int
    channel_pk: int
    message_id: str
    conversation_id: str
    channel_id: str
    status: str
    error_code: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageRetryRequested(DomainEvent):
    """An agent asked to send a failed message again."""

    name = "message.retry_requested"
    message_pk: int
    conversation_pk: int
    channel_pk: int
    message_id: str
    conversation_id: str
    channel_id: str
    actor_id: str | None
