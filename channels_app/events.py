from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelCreated(DomainEvent):
    name = "channel.created"
    channel_pk: int
    channel_id: str
    kind: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelUpdated(DomainEvent):
    name = "channel.updated"
    channel_pk: int
    channel_id: str
    changed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelStatusChanged(DomainEvent):
    name = "channel.status_changed"
    channel_pk: int
    channel_id: str
    old_status: str
    new_status: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelArchived(DomainEvent):
    name = "channel.archived"
    channel_pk: int
    channel_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelAccessChanged(DomainEvent):
    name = "channel.access_changed"
    channel_pk: int
    channel_id: str
    user_id: str
    granted: bool
