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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelPairingChanged(DomainEvent):
    """A QR-paired channel has a new QR code (or pairing code) to show, or none any more: the
    settings page fetches it (the code itself never travels in events)."""

    name = "channel.pairing_changed"
    channel_pk: int
    channel_id: str
    status: str
