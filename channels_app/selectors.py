from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.access import TenantAccess
from channels_app.models import Channel, ChannelUserObjectPermission

WORK_PERMISSION = "work_channel"


def channel_ids_worked_by(*, access: TenantAccess) -> QuerySet[Any]:
    """The ids of the channels this member was given (or the request's API key is limited to),
    as a subquery (no query of its own)."""
    if (key_channel_ids := access.key_channel_ids) is not None:
        return Channel.all_objects.filter(tenant_id=access.tenant_id, public_id__in=key_channel_ids).values("pk")
    return ChannelUserObjectPermission.objects.filter(
        user_id=access.user.pk, permission__codename=WORK_PERMISSION, content_object__tenant_id=access.tenant_id
    ).values("content_object_id")


def channel_pks_worked_by(*, access: TenantAccess) -> tuple[int, ...]:
    """channel_ids_worked_by read, once for as long as the access lives (a request): the inbox's
    page filters its list and each of its counts by it."""
    found: tuple[int, ...] | None = access.memo.get("channel_pks_worked_by")
    if found is None:
        found = access.memo["channel_pks_worked_by"] = tuple(
            value for row in channel_ids_worked_by(access=access) for value in row.values())
    return found


def channel_list(*, access: TenantAccess, include_archived: bool = False) -> QuerySet[Channel]:
    channels = Channel.objects.all()
    if not include_archived:
        channels = channels.filter(archived_at__isnull=True)
    if not access.sees_all_channels:
        channels = channels.filter(pk__in=channel_ids_worked_by(access=access))
    return channels


def channel_active_count(*, tenant_id: int) -> int:
    return Channel.all_objects.filter(tenant_id=tenant_id, archived_at__isnull=True).count()


# A channel in one of these no longer receives or sends: admins are told above the inbox.
DOWN = (Channel.Status.DISCONNECTED, Channel.Status.ERROR)


def channels_needing_attention(*, access: TenantAccess) -> QuerySet[Channel]:
    """The channels this member manages that are disconnected or in error, longest down first
    (none for members who do not manage channels: they cannot fix them)."""
    if not access.has("channels:manage"):
        return Channel.objects.none()
    return channel_list(access=access).filter(status__in=DOWN).order_by("status_changed_at", "pk")
