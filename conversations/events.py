from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationCreated(DomainEvent):
    name = "conversation.created"
    conversation_id: int
    channel_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationStatusChanged(DomainEvent):
    name = "conversation.status_changed"
    conversation_id: int
    channel_id: int
    old_status: str
    new_status: str
    actor_id: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationAssigned(DomainEvent):
    name = "conversation.assigned"
    conversation_id: int
    channel_id: int
    assignee_id: int | None
    previous_assignee_id: int | None
    team_id: int | None
    actor_id: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationUpdated(DomainEvent):
    """Labels, priority, snooze time: what is neither status nor assignment."""

    name = "conversation.updated"
    conversation_id: int
    channel_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageCreated(DomainEvent):
    name = "message.created"
    message_id: int
    conversation_id: int
    channel_id: int
    direction: str
    private: bool
    # The contact's media is still at the provider (it is fetched after the message is stored).
    has_media: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageUpdated(DomainEvent):
    name = "message.updated"
    message_id: int
    conversation_id: int
    channel_id: int
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationRead(DomainEvent):
    """An agent opened the conversation: its inbound messages count as read."""

    name = "conversation.read"
    conversation_id: int
    channel_id: int
    actor_id: int | None
    last_read_message_id: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageStatusChanged(DomainEvent):
    name = "message.status_changed"
    message_id: int
    conversation_id: int
    channel_id: int
    status: str
    error_code: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageRetryRequested(DomainEvent):
    """An agent asked to send a failed message again."""

    name = "message.retry_requested"
    message_id: int
    conversation_id: int
    channel_id: int
    actor_id: int | None
