"""How a tenant organises its inbox: teams (who works which channels), labels, and canned
responses (the replies agents insert by their short code). Managers and admins change them,
from the settings pages or the API; every change is in the audit log.

Names are unique per tenant, compared without regard to case ("VIP" and "vip" are one label:
the inbox finds labels by name that way); a name already taken is a ConflictError (409) that
says which field, in the member's language. Each change publishes its event (team.created,
label.deleted, ...: conversations.events) for the sockets of the tenant."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.models import AuditAction, Membership, User
from channels_app.models import Channel
from config.errors import ConflictError, ValidationFailed
from conversations.events import (
    CannedResponseCreated,
    CannedResponseDeleted,
    CannedResponseUpdated,
    LabelCreated,
    LabelDeleted,
    LabelUpdated,
    TeamCreated,
    TeamDeleted,
    TeamUpdated,
)
from conversations.models import CannedResponse, Label, Team
from conversations.services.common import UNSET
from tenants.events import publish
from tenants.models import Tenant

TEAM_NAME_MAX = 120
LABEL_NAME_MAX = 60
SHORT_CODE_MAX = 60
CANNED_CONTENT_MAX = 10_000
COLOUR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")
SHORT_CODE_PATTERN = re.compile(r"[a-z0-9_-]+")
DEFAULT_LABEL_COLOUR = "#6b7280"


def _name(value: str, *, field: str, max_length: int) -> str:
    """A name as it is kept: spaces collapsed; empty or too long is refused."""
    name = " ".join(str(value).split())
    if not name:
        raise ValidationFailed(_("Give it a name."), details={field: [_("This field is required.")]})
    if len(name) > max_length:
        message = _("At most %(count)d characters.") % {"count": max_length}
        raise ValidationFailed(message, details={field: [message]})
    return name


def _colour(value: str) -> str:
    colour = str(value).strip()
    if not COLOUR_PATTERN.fullmatch(colour):
        message = _("Use a colour written as #RRGGBB, for example #2563eb.")
        raise ValidationFailed(message, details={"color": [message]})
    return colour.lower()


def _short_code(value: str) -> str:
    code = str(value).strip().lstrip("/").lower()
    if not code:
        raise ValidationFailed(_("Give it a short code."), details={"short_code": [_("This field is required.")]})
    if len(code) > SHORT_CODE_MAX or not SHORT_CODE_PATTERN.fullmatch(code):
        message = _("A short code is at most %(count)d lowercase letters, digits, - or _ (no spaces or accents).") \
            % {"count": SHORT_CODE_MAX}
        raise ValidationFailed(message, details={"short_code": [message]})
    return code


def _content(value: str) -> str:
    content = str(value).strip()
    if not content:
        raise ValidationFailed(_("Write the response's text."), details={"content": [_("This field is required.")]})
    if len(content) > CANNED_CONTENT_MAX:
        message = _("At most %(count)d characters.") % {"count": CANNED_CONTENT_MAX}
        raise ValidationFailed(message, details={"content": [message]})
    return content


def _taken(field: str, message: str) -> ConflictError:
    return ConflictError(message, code="duplicate", details={field: [message]})


def _others(rows: QuerySet[Any], exclude_pk: int | None) -> QuerySet[Any]:
    return rows.exclude(pk=exclude_pk) if exclude_pk is not None else rows


def _save(instance: Any, *, field: str, message: str, **kwargs: Any) -> None:
    """Save, turning the unique constraint's refusal (two requests at once) into the same 409
    the check before it gives."""
    try:
        with transaction.atomic():
            instance.save(**kwargs)
    except IntegrityError:
        raise _taken(field, message) from None


# --- Teams ------------------------------------------------------------------------------


def team_audit_target(team: Team) -> AuditTarget:
    return AuditTarget("team", str(team.public_id), team.name)


def _team_name_taken(*, tenant_id: int, name: str, exclude_pk: int | None = None) -> ConflictError | None:
    clash = _others(Team.all_objects.filter(tenant_id=tenant_id, name__iexact=name), exclude_pk).exists()
    return _taken("name", _("There is already a team named “%(name)s”.") % {"name": name}) if clash else None


def _team_members(*, tenant_id: int, members: Iterable[User]) -> list[User]:
    users = list(dict.fromkeys(members))
    member_ids = set(Membership.all_objects.filter(tenant_id=tenant_id, user__in=users, is_active=True,
                                                   user__is_active=True).values_list("user_id", flat=True))
    outsiders = [user for user in users if user.pk not in member_ids]
    if outsiders:
        message = _("Only active members of this account can be in its teams.")
        raise ValidationFailed(message, details={"member_ids": [message]})
    return users


def _team_channels(*, tenant_id: int, channels: Iterable[Channel]) -> list[Channel]:
    found = list(dict.fromkeys(channels))
    if any(channel.tenant_id != tenant_id or channel.archived_at is not None for channel in found):
        message = _("Only this account's active channels can be given to its teams.")
        raise ValidationFailed(message, details={"channel_ids": [message]})
    return found


@transaction.atomic
def team_create(*, tenant: Tenant, actor: User | None, name: str, members: Iterable[User] = (),
                channels: Iterable[Channel] = ()) -> Team:
    name = _name(name, field="name", max_length=TEAM_NAME_MAX)
    if (taken := _team_name_taken(tenant_id=tenant.pk, name=name)) is not None:
        raise taken
    users = _team_members(tenant_id=tenant.pk, members=members)
    worked = _team_channels(tenant_id=tenant.pk, channels=channels)
    team = Team(tenant=tenant, name=name)
    _save(team, field="name", message=_("There is already a team named “%(name)s”.") % {"name": name})
    team.members.set(users)
    team.channels.set(worked)
    audit_record(tenant=tenant, action=AuditAction.TEAM_CREATED, actor=actor, target=team_audit_target(team),
                 details={"members": len(users), "channels": [channel.name for channel in worked]})
    publish(TeamCreated(tenant_pk=tenant.pk, team_id=str(team.public_id)))
    return team


@transaction.atomic
def team_update(*, team: Team, actor: User | None, name: str = UNSET, members: Iterable[User] = UNSET,
                channels: Iterable[Channel] = UNSET) -> Team:
    """Rename a team, or set its members or its channels (each given replaces the whole set)."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        name = _name(name, field="name", max_length=TEAM_NAME_MAX)
        if name != team.name:
            if (taken := _team_name_taken(tenant_id=team.tenant_id, name=name, exclude_pk=team.pk)) is not None:
                raise taken
            changes["name"] = {"from": team.name, "to": name}
            team.name = name
            _save(team, field="name", message=_("There is already a team named “%(name)s”.") % {"name": name},
                  update_fields=["name"])
    if members is not UNSET:
        users = _team_members(tenant_id=team.tenant_id, members=members)
        before = set(team.members.values_list("pk", flat=True))
        after = {user.pk for user in users}
        if before != after:
            team.members.set(users)
            changes["members"] = {"added": len(after - before), "removed": len(before - after)}
    if channels is not UNSET:
        worked = _team_channels(tenant_id=team.tenant_id, channels=channels)
        before_channels = {channel.pk: channel.name for channel in team.channels.all()}
        if set(before_channels) != {channel.pk for channel in worked}:
            team.channels.set(worked)
            changes["channels"] = {"from": sorted(before_channels.values()),
                                   "to": sorted(channel.name for channel in worked)}
    if changes:
        audit_record(tenant=team.tenant_id, action=AuditAction.TEAM_UPDATED, actor=actor,
                     target=team_audit_target(team), details=changes)
        publish(TeamUpdated(tenant_pk=team.tenant_id, team_id=str(team.public_id), changed=tuple(changes)))
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: User | None) -> None:
    """Delete a team; its conversations stay, with no team."""
    target = team_audit_target(team)
    conversations = team.conversations.count()
    team.delete()  # Conversation.team is SET_NULL
    audit_record(tenant=team.tenant_id, action=AuditAction.TEAM_DELETED, actor=actor, target=target,
                 details={"conversations": conversations})
    publish(TeamDeleted(tenant_pk=team.tenant_id, team_id=target.id))


# --- Labels -----------------------------------------------------------------------------


def label_audit_target(label: Label) -> AuditTarget:
    return AuditTarget("label", str(label.public_id), label.name)


def _label_name_taken(*, tenant_id: int, name: str, exclude_pk: int | None = None) -> ConflictError | None:
    clash = _others(Label.all_objects.filter(tenant_id=tenant_id, name__iexact=name), exclude_pk).exists()
    return _taken("name", _("There is already a label named “%(name)s”.") % {"name": name}) if clash else None


@transaction.atomic
def label_create(*, tenant: Tenant, actor: User | None, name: str, color: str = DEFAULT_LABEL_COLOUR) -> Label:
    name = _name(name, field="name", max_length=LABEL_NAME_MAX)
    color = _colour(color)
    if (taken := _label_name_taken(tenant_id=tenant.pk, name=name)) is not None:
        raise taken
    label = Label(tenant=tenant, name=name, color=color)
    _save(label, field="name", message=_("There is already a label named “%(name)s”.") % {"name": name})
    audit_record(tenant=tenant, action=AuditAction.LABEL_CREATED, actor=actor, target=label_audit_target(label),
                 details={"color": color})
    publish(LabelCreated(tenant_pk=tenant.pk, label_id=str(label.public_id)))
    return label


@transaction.atomic
def label_update(*, label: Label, actor: User | None, name: str = UNSET, color: str = UNSET) -> Label:
    """Rename or recolour a label: the conversations that carry it show the change."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        name = _name(name, field="name", max_length=LABEL_NAME_MAX)
        if name != label.name:
            if (taken := _label_name_taken(tenant_id=label.tenant_id, name=name, exclude_pk=label.pk)) is not None:
                raise taken
            changes["name"] = {"from": label.name, "to": name}
            label.name = name
    if color is not UNSET:
        color = _colour(color)
        if color != label.color:
            changes["color"] = {"from": label.color, "to": color}
            label.color = color
    if changes:
        _save(label, field="name", message=_("There is already a label named “%(name)s”.") % {"name": label.name},
              update_fields=[key for key in ("name", "color") if key in changes])
        audit_record(tenant=label.tenant_id, action=AuditAction.LABEL_UPDATED, actor=actor,
                     target=label_audit_target(label), details=changes)
        publish(LabelUpdated(tenant_pk=label.tenant_id, label_id=str(label.public_id), changed=tuple(changes)))
    return label


@transaction.atomic
def label_delete(*, label: Label, actor: User | None) -> None:
    """Delete a label; it is taken off every conversation that carried it."""
    target = label_audit_target(label)
    conversations = label.conversations.count()
    label.delete()  # the conversations' links to it go with it
    audit_record(tenant=label.tenant_id, action=AuditAction.LABEL_DELETED, actor=actor, target=target,
                 details={"conversations": conversations})
    publish(LabelDeleted(tenant_pk=label.tenant_id, label_id=target.id))


# --- Canned responses ---------------------------------------------------------------------


def canned_response_audit_target(response: CannedResponse) -> AuditTarget:
    return AuditTarget("canned_response", str(response.public_id), f"/{response.short_code}")


def _short_code_taken(*, tenant_id: int, code: str, exclude_pk: int | None = None) -> ConflictError | None:
    clash = _others(CannedResponse.all_objects.filter(tenant_id=tenant_id, short_code=code), exclude_pk).exists()
    return _taken("short_code", _short_code_taken_message(code)) if clash else None


def _short_code_taken_message(code: str) -> str:
    return _("The short code /%(code)s is already used by another canned response.") % {"code": code}


@transaction.atomic
def canned_response_create(*, tenant: Tenant, actor: User | None, short_code: str, content: str) -> CannedResponse:
    code, text = _short_code(short_code), _content(content)
    if (taken := _short_code_taken(tenant_id=tenant.pk, code=code)) is not None:
        raise taken
    response = CannedResponse(tenant=tenant, short_code=code, content=text)
    _save(response, field="short_code", message=_short_code_taken_message(code))
    audit_record(tenant=tenant, action=AuditAction.CANNED_RESPONSE_CREATED, actor=actor,
                 target=canned_response_audit_target(response))
    publish(CannedResponseCreated(tenant_pk=tenant.pk, canned_response_id=str(response.public_id)))
    return response


@transaction.atomic
def canned_response_update(*, response: CannedResponse, actor: User | None, short_code: str = UNSET,
                           content: str = UNSET) -> CannedResponse:
    changes: dict[str, Any] = {}
    if short_code is not UNSET:
        code = _short_code(short_code)
        if code != response.short_code:
            if (taken := _short_code_taken(tenant_id=response.tenant_id, code=code, exclude_pk=response.pk)):
                raise taken
            changes["short_code"] = {"from": response.short_code, "to": code}
            response.short_code = code
    if content is not UNSET:
        text = _content(content)
        if text != response.content:
            changes["content"] = "changed"  # the text itself may be long; the log says that it changed
            response.content = text
    if changes:
        _save(response, field="short_code", message=_short_code_taken_message(response.short_code),
              update_fields=[*(key for key in ("short_code", "content") if key in changes), "updated_at"])
        audit_record(tenant=response.tenant_id, action=AuditAction.CANNED_RESPONSE_UPDATED, actor=actor,
                     target=canned_response_audit_target(response), details=changes)
        publish(CannedResponseUpdated(tenant_pk=response.tenant_id, canned_response_id=str(response.public_id),
                                      changed=tuple(changes)))
    return response


@transaction.atomic
def canned_response_delete(*, response: CannedResponse, actor: User | None) -> None:
    target = canned_response_audit_target(response)
    response.delete()
    audit_record(tenant=response.tenant_id, action=AuditAction.CANNED_RESPONSE_DELETED, actor=actor, target=target)
    publish(CannedResponseDeleted(tenant_pk=response.tenant_id, canned_response_id=target.id))
