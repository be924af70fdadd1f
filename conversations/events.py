"""The conversations' events. As every event (tenants.events): `*_pk` fields are integer
primary keys for the server's listeners, `*_id` fields are public ids (UUID strings) for
clients, and only the latter are in the payload."""

from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationEvent(DomainEvent):
    """What every event of a conversation carries."""

    conversation_pk: int
    channel_pk: int
    conversation_id: str
    channel_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageEvent(DomainEvent):
    """What every event of a message carries (message_ids() in conversations.services.common)."""

    message_pk: int
    conversation_pk: int
    channel_pk: int
    message_id: str
    conversation_id: str
    channel_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationCreated(ConversationEvent):
    name = "conversation.created"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationStatusChanged(ConversationEvent):
    name = "conversation.status_changed"
    old_status: str
    new_status: str
    actor_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationAssigned(ConversationEvent):
    name = "conversation.assigned"
    assignee_id: str | None
    previous_assignee_id: str | None
    team_id: str | None
    actor_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationUpdated(ConversationEvent):
    """Labels, priority, snooze time: what is neither status nor assignment."""

    name = "conversation.updated"
    changed: tuple[str, ...]
    actor_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageCreated(MessageEvent):
    name = "message.created"
    direction: str
    private: bool
    # The contact's media is still at the provider (it is fetched after the message is stored).
    has_media: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageUpdated(MessageEvent):
    name = "message.updated"
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationRead(ConversationEvent):
    """An agent opened the conversation: its inbound messages count as read."""

    name = "conversation.read"
    actor_id: str | None
    # The newest inbound message (what the provider is told was read).
    last_read_message_pk: int | None
    last_read_message_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageStatusChanged(MessageEvent):
    name = "message.status_changed"
    status: str
    error_code: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageRetryRequested(MessageEvent):
    """An agent asked to send a failed message again."""

    name = "message.retry_requested"
    actor_id: str | None


# --- How the tenant organises its inbox: teams, labels, canned responses ------------------
# Tenant-wide (no channel): every socket of the tenant gets them, so that lists of teams, labels
# and canned responses on open pages can be read again.


@dataclasses.dataclass(frozen=True, kw_only=True)
class TeamCreated(DomainEvent):
    name = "team.created"
    team_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TeamUpdated(DomainEvent):
    name = "team.updated"
    team_id: str
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TeamDeleted(DomainEvent):
    name = "team.deleted"
    team_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelCreated(DomainEvent):
    name = "label.created"
    label_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelUpdated(DomainEvent):
    name = "label.updated"
    label_id: str
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelDeleted(DomainEvent):
    name = "label.deleted"
    label_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CannedResponseCreated(DomainEvent):
    name = "canned_response.created"
    canned_response_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CannedResponseUpdated(DomainEvent):
    name = "canned_response.updated"
    canned_response_id: str
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CannedResponseDeleted(DomainEvent):
    name = "canned_response.deleted"
    canned_response_id: str
