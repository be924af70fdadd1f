"""Members, seen with what the apps above accounts know of them: the channels they work
(channels_app) and their teams (conversations). The members page and the members API read
and change them here; the rules (roles, seats, last administrator) are accounts' services."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.utils.translation import gettext as _

from accounts.invitations import invitation_create
from accounts.models import Invitation, Membership, Role, User
from channels_app.models import Channel, ChannelUserObjectPermission
from channels_app.selectors import WORK_PERMISSION
from channels_app.services import channel_members_set, member_channels_set
from config.errors import ValidationFailed
from conversations.models import Team
from tenants.models import Tenant

# The roles whose channels are chosen one by one (the others see every channel).
ROLES_CHOOSING_CHANNELS = (Role.AGENT, Role.VIEWER)


def tenant_channels(*, tenant: Tenant) -> list[Channel]:
    return list(Channel.all_objects.filter(tenant=tenant, archived_at__isnull=True).order_by("name", "pk"))


def tenant_teams(*, tenant: Tenant) -> list[Team]:
    return list(Team.all_objects.filter(tenant=tenant).order_by("name", "pk"))


def members_teams(*, tenant: Tenant, user_ids: Iterable[int]) -> dict[int, list[Team]]:
    """The teams of these users in the tenant, by user pk (one query)."""
    found: dict[int, list[Team]] = {}
    through = Team.members.through.objects.filter(team__tenant=tenant, user_id__in=list(user_ids))
    for row in through.select_related("team").order_by("team__name"):
        found.setdefault(row.user_id, []).append(row.team)
    return found


def members_channel_ids(*, tenant: Tenant, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """The channels (pks) each of these users was given in the tenant (one query)."""
    found: dict[int, set[int]] = {}
    for channel_pk, user_pk in ChannelUserObjectPermission.objects.filter(
            user_id__in=list(user_ids), permission__codename=WORK_PERMISSION,
            content_object__tenant_id=tenant.pk).values_list("content_object_id", "user_id"):
        found.setdefault(user_pk, set()).add(channel_pk)
    return found


def tenant_channels_by_public_id(*, tenant: Tenant, channel_ids: Sequence[uuid.UUID | str]) -> list[Channel]:
    wanted = {str(channel_id) for channel_id in channel_ids}
    channels = [channel for channel in tenant_channels(tenant=tenant) if str(channel.public_id) in wanted]
    if len(channels) != len(wanted):
        raise ValidationFailed(_("Unknown channel."), details={"channel_ids": [_("Not a channel of this account.")]})
    return channels


def member_invite(*, tenant: Tenant, actor: User | None, email: str, role: str,
                  channel_ids: Sequence[uuid.UUID | str] = (), team_ids: Sequence[uuid.UUID | str] = ()) -> Invitation:
    """Invite someone, with the channels (agents and viewers) and teams they get on accepting."""
    channels = tenant_channels_by_public_id(tenant=tenant, channel_ids=channel_ids) if role in ROLES_CHOOSING_CHANNELS else []
    wanted_teams = {str(team_id) for team_id in team_ids}
    teams = [team for team in tenant_teams(tenant=tenant) if str(team.public_id) in wanted_teams]
    if len(teams) != len(wanted_teams):
        raise ValidationFailed(_("Unknown team."), details={"team_ids": [_("Not a team of this account.")]})
    return invitation_create(tenant=tenant, actor=actor, email=email, role=role,
                             channel_ids=[str(channel.public_id) for channel in channels],
                             team_ids=[str(team.public_id) for team in teams])


def member_channels_replace(*, membership: Membership, channel_ids: Sequence[uuid.UUID | str],
                            actor: User | None) -> list[Channel]:
    """The channels (public ids) this member works from now on: exactly these."""
    tenant = Tenant.objects.get(pk=membership.tenant_id)
    channels = tenant_channels_by_public_id(tenant=tenant, channel_ids=channel_ids)
    member_channels_set(tenant=tenant, user=membership.user, channels=channels, actor=actor)
    return channels


def channel_candidates(*, channel: Channel) -> list[Membership]:
    """The members whose access to this channel is chosen (agents and viewers), by email."""
    return list(Membership.all_objects.filter(tenant_id=channel.tenant_id, role__in=ROLES_CHOOSING_CHANNELS)
                .select_related("user").order_by("user__email"))


def channel_workers(*, channel: Channel) -> set[int]:
    """The users (pks) given this channel."""
    return set(ChannelUserObjectPermission.objects.filter(content_object=channel, permission__codename=WORK_PERMISSION)
               .values_list("user_id", flat=True))


def channel_workers_replace(*, channel: Channel, user_ids: Sequence[uuid.UUID | str], actor: User | None) -> int:
    """The agents and viewers (users' public ids) who work this channel from now on."""
    candidates = [membership.user for membership in channel_candidates(channel=channel)]
    wanted = {str(user_id) for user_id in user_ids}
    users = [user for user in candidates if str(user.public_id) in wanted]
    if len(users) != len(wanted):
        raise ValidationFailed(_("Unknown member."), details={"user_ids": [_("Not an agent or viewer of this account.")]})
    return channel_members_set(channel=channel, users=users, actor=actor, candidates=candidates)


def channel_access_rows(*, channel: Channel) -> list[dict[str, object]]:
    """The channel page's "Who can see this channel": each agent and viewer, and whether they may."""
    workers = channel_workers(channel=channel)
    return [{"membership": membership, "granted": membership.user_id in workers}
            for membership in channel_candidates(channel=channel)]
