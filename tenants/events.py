from __future__ import annotations

import dataclasses

from config.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class TenantStatusChanged(DomainEvent):
    name = "tenant.status_changed"
    old_status: str
    new_status: str
