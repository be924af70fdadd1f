from __future__ import annotations

import dataclasses

from tenants.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipCreated(DomainEvent):
    name = "membership.created"
    membership_pk: int
    user_pk: int
    user_id: str
    role: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipRoleChanged(DomainEvent):
    name = "membership.role_changed"
    membership_pk: int
    user_pk: int
    user_id: str
    old_role: str
    new_role: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipRemoved(DomainEvent):
    name = "membership.removed"
    user_pk: int
    user_id: str
