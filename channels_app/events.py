from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelCreated(DomainEvent):
    name = "channel.created"
    channel_id: int
    kind: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelUpdated(DomainEvent):
    name = "channel.updated"
    channel_id: int
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelStatusChanged(DomainEvent):
    name = "channel.status_changed"
    channel_id: int
    old_status: str
    new_status: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelArchived(DomainEvent):
    name = "channel.archived"
    channel_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelAccessChanged(DomainEvent):
    name = "channel.access_changed"
    channel_id: int
    user_id: int
    granted: bool
