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


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipDeactivated(DomainEvent):
    name = "membership.deactivated"
    membership_pk: int
    user_pk: int
    user_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class MembershipReactivated(DomainEvent):
    name = "membership.reactivated"
    membership_pk: int
    user_pk: int
    user_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class InvitationAccepted(DomainEvent):
    """Someone accepted an invitation: the channels and teams chosen for them (public ids) are
    theirs now (channels_app and conversations listen)."""

    name = "invitation.accepted"
    membership_pk: int
    user_pk: int
    user_id: str
    invitation_id: str
    channel_ids: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiKeyRevoked(DomainEvent):
    """An API key was revoked: the live sockets it opened close (conversations.consumers). Not
    shown to any client: it only makes sockets re-check."""

    name = "api_key.revoked"
    api_key_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserLoginsEnded(DomainEvent):
    """Every login of a user but one was ended (accounts.login_sessions): the sockets of the
    others close. One per tenant the user works in; not shown to any client."""

    name = "user.logins_ended"
    user_pk: int
    user_id: str
