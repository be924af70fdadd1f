from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, Membership, User
from channels_app.events import (
    ChannelAccessChanged,
    ChannelArchived,
    ChannelCreated,
    ChannelPairingChanged,
    ChannelStatusChanged,
    ChannelUpdated,
)
from channels_app.kinds import kind_of, kinds_available
from channels_app.models import Channel, ChannelUserObjectPermission, MessageTemplate
from channels_app.selectors import WORK_PERMISSION, channel_active_count
from config.crypto import Secrets
from config.errors import ApplicationError, ValidationFailed
from tenants.events import publish
from tenants.models import Tenant
from tenants.services import tenant_check_limit

PERMISSION = f"channels_app.{WORK_PERMISSION}"


def channel_audit_target(channel: Channel) -> AuditTarget:
    return AuditTarget("channel", str(channel.public_id), channel.name)


def _verify(channel: Channel) -> None:
    """Check a channel's settings with its provider before they are saved (the verifier
    named in settings.CHANNEL_VERIFIER raises ValidationFailed in plain words, and may set
    the status and what the provider told about the account)."""
    if settings.CHANNEL_VERIFIER:
        import_string(settings.CHANNEL_VERIFIER)(channel)


def channel_create(
    *, tenant: Tenant, actor: User | None, kind: str, name: str, config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None, verify: bool = True,
) -> Channel:
    """A new channel. Its settings are checked with the provider first, unless `verify`
    is False (demo data and imports of channels that were checked elsewhere)."""
    _refuse_unavailable(kind)
    info = kind_of(kind)
    status = Channel.Status.CONNECTED if info.connected_on_create else Channel.Status.INACTIVE
    channel = Channel(tenant=tenant, kind=kind, name=name.strip(), config=dict(config or {}),
                      credentials=Secrets(credentials or {}), status=status, status_changed_at=timezone.now())
    if verify:
        _verify(channel)  # outside the transaction: it may wait on the provider
    with transaction.atomic():
        # Lock the tenant row so two concurrent creations cannot both pass the limit.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        tenant_check_limit(tenant=tenant, resource="channels", current=channel_active_count(tenant_id=tenant.pk))
        channel.save()
        audit_record(tenant=tenant, action=AuditAction.CHANNEL_CONNECTED, actor=actor,
                     target=channel_audit_target(channel), details={"kind": kind, "status": channel.status})
        publish(ChannelCreated(tenant_pk=tenant.pk, channel_pk=channel.pk, channel_id=str(channel.public_id), kind=kind))
    return channel


def _refuse_unavailable(kind: str) -> None:
    if not kind_of(kind).available:
        raise ApplicationError(
            _("Channels of kind %(kind)s cannot be created here: no provider of this installation serves it.")
            % {"kind": kind}, code="channel_kind_not_available", status_code=422,
            details={"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(
                available.value for available in kinds_available())}]})


def channel_transport_change(
    *, channel: Channel, actor: User | None, kind: str, config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> Channel:
    """Move a channel to another provider of the same network (a number from a QR gateway to
    the Cloud API, or back): the channel, its contacts, conversations and messages stay; only
    its kind, settings and secrets change, after the new provider accepted them."""
    _refuse_unavailable(kind)
    network = kind_of(channel.kind).network
    if kind == channel.kind or not network or kind_of(kind).network != network:
        raise ApplicationError(
            _("This channel cannot move to %(kind)s: only to another provider of the same network.") % {"kind": kind},
            code="transport_incompatible", status_code=422,
            details={"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(
                other.value for other in kinds_available() if network and other.network == network
                and other.value != channel.kind) or "—"}]})
    moved = copy.copy(channel)  # the caller's channel stays as it is if the provider refuses
    moved.kind, moved.config, moved.credentials = kind, dict(config or {}), Secrets(credentials or {})
    moved.status = Channel.Status.CONNECTED if kind_of(kind).connected_on_create else Channel.Status.INACTIVE
    moved.status_detail, moved.status_changed_at = "", timezone.now()
    _verify(moved)  # outside the transaction: it may wait on the provider
    with transaction.atomic():
        moved.save()
        audit_record(tenant=moved.tenant_id, action=AuditAction.CHANNEL_CREDENTIALS_CHANGED, actor=actor,
                     target=channel_audit_target(moved), details={"kind": kind, "previous_kind": channel.kind})
        publish(ChannelUpdated(tenant_pk=moved.tenant_id, channel_pk=moved.pk, channel_id=str(moved.public_id),
                               changed=("kind", "config", "credentials", "status")))
    return moved


def channel_update(
    *, channel: Channel, actor: User | None, name: str | None = None, config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> Channel:
    """Change a channel. `credentials` is merged: a key given replaces the stored secret,
    a key given as null removes it, a key not given is kept (the API never shows secrets,
    so a client cannot send them back unchanged)."""
    changed: list[str] = []
    if name is not None and name.strip() != channel.name:
        channel.name = name.strip()
        changed.append("name")
    if config is not None and config != channel.config:
        channel.config = config
        changed.append("config")
    if credentials:
        merged = Secrets(channel.credentials or {})
        for key, value in credentials.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        channel.credentials = merged
        changed.append("credentials")
    if "config" in changed or "credentials" in changed:
        before = channel.status
        _verify(channel)
        if channel.status != before:
            channel.status_changed_at = timezone.now()
            changed += ["status", "status_detail", "status_changed_at", "config"]
    if changed:
        with transaction.atomic():
            channel.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
            if "credentials" in changed:  # which secrets, never what they are
                audit_record(tenant=channel.tenant_id, action=AuditAction.CHANNEL_CREDENTIALS_CHANGED, actor=actor,
                             target=channel_audit_target(channel),
                             details={"replaced": sorted(k for k, v in (credentials or {}).items() if v is not None),
                                      "removed": sorted(k for k, v in (credentials or {}).items() if v is None)})
            publish(ChannelUpdated(tenant_pk=channel.tenant_id, channel_pk=channel.pk, channel_id=str(channel.public_id),
                                   changed=tuple(dict.fromkeys(changed))))
    return channel


@transaction.atomic
def channel_set_status(*, channel: Channel, status: str, detail: str = "") -> Channel:
    old_status = channel.status
    if old_status == status and channel.status_detail == detail:
        return channel
    channel.status, channel.status_detail, channel.status_changed_at = status, detail[:500], timezone.now()
    channel.save(update_fields=["status", "status_detail", "status_changed_at", "updated_at"])
    if old_status != status:
        publish(ChannelStatusChanged(tenant_pk=channel.tenant_id, channel_pk=channel.pk,
                                     channel_id=str(channel.public_id), old_status=old_status,
                                     new_status=status))
    return channel


@transaction.atomic
def channel_mark_unreachable(*, channel: Channel, detail: str) -> Channel:
    """Its provider could not be reached to send: a connected channel is in error (saying why)
    until a send gets through. A channel that is not connected already says more than this."""
    current = Channel.all_objects.select_for_update().get(pk=channel.pk)
    if current.status in (Channel.Status.CONNECTED, Channel.Status.ERROR):
        channel_set_status(channel=current, status=Channel.Status.ERROR, detail=detail)
    channel.status, channel.status_detail = current.status, current.status_detail
    return current


def channel_mark_reachable(*, channel: Channel) -> Channel:
    """A send got through: a channel in error is connected again. (Read from `channel` first:
    this runs for every reply sent, and a channel is rarely in error.)"""
    if channel.status != Channel.Status.ERROR:
        return channel
    with transaction.atomic():
        current = Channel.all_objects.select_for_update().get(pk=channel.pk)
        if current.status == Channel.Status.ERROR:
            channel_set_status(channel=current, status=Channel.Status.CONNECTED)
    channel.status, channel.status_detail = current.status, current.status_detail
    return current


@transaction.atomic
def channel_pairing_update(*, channel: Channel, status: str, detail: str = "", qr_code: str = "",
                           qr_image: str = "", pairing_code: str = "", phone: str = "") -> Channel:
    """What a provider paired by QR code said of its link to the phone: the channel's status
    and, while it waits for a scan, the QR code (or pairing code) its settings page shows,
    kept in its config under "pairing" until the next update replaces it. The number paired
    is kept as "phone"."""
    channel = Channel.all_objects.select_for_update().get(pk=channel.pk)
    codes = {"qr_code": qr_code, "qr_image": qr_image, "pairing_code": pairing_code} if (
        qr_code or qr_image or pairing_code) else {}
    kept = {key: value for key, value in channel.config.get("pairing", {}).items() if key != "at"}
    changed = codes != kept
    config = dict(channel.config)
    if changed:
        config["pairing"] = {**codes, "at": timezone.now().isoformat()} if codes else {}
    if phone:
        config["phone"] = phone
    if config != channel.config:
        channel.config = config
        channel.save(update_fields=["config", "updated_at"])
    channel_set_status(channel=channel, status=status, detail=detail)
    if changed:
        publish(ChannelPairingChanged(tenant_pk=channel.tenant_id, channel_pk=channel.pk,
                                      channel_id=str(channel.public_id), status=channel.status))
    return channel


@transaction.atomic
def channel_archive(*, channel: Channel, actor: User | None) -> Channel:
    """Retire a channel. Its conversations and messages stay; it stops counting against
    the plan and disappears from channel lists."""
    if channel.archived_at is None:
        channel.archived_at = timezone.now()
        channel.status = Channel.Status.INACTIVE
        channel.save(update_fields=["archived_at", "status", "updated_at"])
        audit_record(tenant=channel.tenant_id, action=AuditAction.CHANNEL_DELETED, actor=actor,
                     target=channel_audit_target(channel), details={"kind": channel.kind})
        publish(ChannelArchived(tenant_pk=channel.tenant_id, channel_pk=channel.pk, channel_id=str(channel.public_id)))
    return channel


def _require_member(*, tenant_id: int, user: User) -> None:
    if not Membership.all_objects.filter(tenant_id=tenant_id, user=user).exists():
        raise ValidationFailed("That user is not a member of this account.", details={"user_id": ["Not a member."]})


def _access_audit(*, channel: Channel, user: User, actor: User | None, granted: bool) -> None:
    audit_record(tenant=channel.tenant_id, action=AuditAction.CHANNEL_ACCESS_CHANGED, actor=actor,
                 target=channel_audit_target(channel),
                 details={"user_id": str(user.public_id), "user": user.email, "granted": granted})


@transaction.atomic
def channel_access_grant(*, channel: Channel, user: User, actor: User | None = None) -> None:
    _require_member(tenant_id=channel.tenant_id, user=user)
    assign_perm(PERMISSION, user, channel)
    _access_audit(channel=channel, user=user, actor=actor, granted=True)
    publish(ChannelAccessChanged(tenant_pk=channel.tenant_id, channel_pk=channel.pk, channel_id=str(channel.public_id),
                                 user_id=str(user.public_id), granted=True))


@transaction.atomic
def channel_access_revoke(*, channel: Channel, user: User, actor: User | None = None) -> None:
    remove_perm(PERMISSION, user, channel)
    _access_audit(channel=channel, user=user, actor=actor, granted=False)
    publish(ChannelAccessChanged(tenant_pk=channel.tenant_id, channel_pk=channel.pk, channel_id=str(channel.public_id),
                                 user_id=str(user.public_id), granted=False))


def _granted(*, tenant_id: int, user_ids: Iterable[int] | None = None,
             channel: Channel | None = None) -> set[tuple[int, int]]:
    """(channel pk, user pk) of the tenant's channel access, for one channel or some users."""
    grants = ChannelUserObjectPermission.objects.filter(permission__codename=WORK_PERMISSION,
                                                        content_object__tenant_id=tenant_id)
    if channel is not None:
        grants = grants.filter(content_object=channel)
    if user_ids is not None:
        grants = grants.filter(user_id__in=list(user_ids))
    return set(grants.values_list("content_object_id", "user_id"))


@transaction.atomic
def member_channels_set(*, tenant: Tenant, user: User, channels: Iterable[Channel], actor: User | None) -> list[Channel]:
    """Make `channels` (of the tenant, not archived) exactly the ones this member works: each
    one given or taken is audited and published. Returns the channels given or taken."""
    wanted = {channel.pk: channel for channel in channels}
    if any(channel.tenant_id != tenant.pk or channel.archived_at is not None for channel in wanted.values()):
        raise ValidationFailed(_("Unknown channel."), details={"channel_ids": [_("Not a channel of this account.")]})
    _require_member(tenant_id=tenant.pk, user=user)
    current = {channel_pk for channel_pk, _user in _granted(tenant_id=tenant.pk, user_ids=[user.pk])}
    changed: list[Channel] = []
    for channel in Channel.all_objects.filter(tenant=tenant, archived_at__isnull=True).order_by("pk"):
        if channel.pk in wanted and channel.pk not in current:
            channel_access_grant(channel=channel, user=user, actor=actor)
            changed.append(channel)
        elif channel.pk not in wanted and channel.pk in current:
            channel_access_revoke(channel=channel, user=user, actor=actor)
            changed.append(channel)
    return changed


@transaction.atomic
def channel_members_set(*, channel: Channel, users: Iterable[User], actor: User | None,
                        candidates: Iterable[User]) -> int:
    """Make `users` exactly the members of `candidates` (the members whose access is chosen per
    channel: agents and viewers) who work this channel. Returns how many changed."""
    wanted = {user.pk for user in users}
    pool = list(candidates)
    if not wanted <= {user.pk for user in pool}:
        raise ValidationFailed(_("Unknown member."), details={"user_ids": [_("Not a member of this account.")]})
    current = {user_pk for _channel, user_pk in _granted(tenant_id=channel.tenant_id, channel=channel)}
    changed = 0
    for user in pool:
        if user.pk in wanted and user.pk not in current:
            channel_access_grant(channel=channel, user=user, actor=actor)
            changed += 1
        elif user.pk not in wanted and user.pk in current:
            channel_access_revoke(channel=channel, user=user, actor=actor)
            changed += 1
    return changed


def invited_channels_grant(*, tenant_id: int, user: User, channel_ids: Iterable[str]) -> None:
    """The channels an accepted invitation chose (public ids; gone ones are skipped)."""
    for channel in Channel.all_objects.filter(tenant_id=tenant_id, public_id__in=list(channel_ids),
                                              archived_at__isnull=True):
        channel_access_grant(channel=channel, user=user, actor=None)


def channel_access_revoke_all(*, tenant_id: int, user_id: int) -> None:
    ChannelUserObjectPermission.objects.filter(user_id=user_id, content_object__tenant_id=tenant_id).delete()


@transaction.atomic
def channel_templates_replace(*, channel: Channel, templates: list[dict[str, Any]]) -> int:
    """Make the channel's templates exactly the provider's list (from a sync)."""
    keep = []
    for item in templates:
        template, _created = MessageTemplate.all_objects.update_or_create(
            channel=channel, name=item["name"], language=item["language"],
            defaults={"tenant_id": channel.tenant_id, **{key: item[key] for key in
                      ("category", "status", "body", "parameter_count", "components") if key in item}},
        )
        keep.append(template.pk)
    MessageTemplate.all_objects.filter(channel=channel).exclude(pk__in=keep).delete()
    return len(keep)
