from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContactCreated(DomainEvent):
    name = "contact.created"
    contact_pk: int
    contact_id: str
    # The channel it first wrote from: only that channel's members are told (none: made by
    # hand or through the API, every member is).
    channel_pk: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContactUpdated(DomainEvent):
    name = "contact.updated"
    contact_pk: int
    contact_id: str
    changed: tuple[str, ...]
    # The channel whose provider said it: only that channel's members are told (none: changed
    # by hand or through the API, every member is).
    channel_pk: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContactMerged(DomainEvent):
    """Two contacts became one: `merged_contact_id` is gone, its conversations and addresses are
    `contact_id`'s now (the inbox redraws the rows of both)."""

    name = "contact.merged"
    contact_pk: int
    contact_id: str
    merged_contact_id: str
