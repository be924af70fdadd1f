from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipCreated(DomainEvent):
    name = "membership.created"
    membership_id: int
    user_id: int
    role: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipRoleChanged(DomainEvent):
    name = "membership.role_changed"
    membership_id: int
    user_id: int
    old_role: str
    new_role: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipRemoved(DomainEvent):
    name = "membership.removed"
    user_id: int
