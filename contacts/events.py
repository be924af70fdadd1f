from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContactCreated(DomainEvent):
    name = "contact.created"
    contact_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContactUpdated(DomainEvent):
    name = "contact.updated"
    contact_id: int
    changed: tuple[str, ...]
