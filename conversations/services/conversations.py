"""Conversations: what agents and integrators change on them (create, status, assignee,
team, labels, priority, snooze) and marking them read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Role, User
from channels_app.models import Channel, ChannelUserObjectPermission
from config.errors import ValidationFailed
from contacts.models import Contact
from conversations.events import (
    ConversationAssigned,
    ConversationCreated,
    ConversationRead,
    ConversationStatusChanged,
    ConversationUpdated,
)
from conversations.models import Conversation, Label, Message, Team
from conversations.services.common import UNSET, actor_id, public_id_of
from tenants.events import publish


def _validate_assignee(*, tenant_id: int, channel: Channel, assignee: User) -> None:
    membership = Membership.all_objects.filter(tenant_id=tenant_id, user=assignee, is_active=True).first()
    if membership is None:
        raise ValidationFailed(_("The assignee is not a member of this account."), details={"assignee_id": ["Not a member."]})
    if membership.role == Role.VIEWER:
        raise ValidationFailed(_("Viewers cannot be assigned conversations."), details={"assignee_id": ["Is a viewer."]})
    if membership.role == Role.AGENT and not ChannelUserObjectPermission.objects.filter(
        user=assignee, content_object=channel, permission__codename="work_channel"
    ).exists():
        raise ValidationFailed(
            _("The assignee does not work this conversation's channel."), details={"assignee_id": ["No access to the channel."]}
        )


def _ids(conversation: Conversation, channel: Channel) -> dict[str, Any]:
    """The ids every event of a conversation carries: internal and public."""
    return {"conversation_pk": conversation.pk, "channel_pk": channel.pk,
            "conversation_id": str(conversation.public_id), "channel_id": str(channel.public_id)}


def _labels_by_name(*, tenant_id: int, names: Iterable[str]) -> list[Label]:
    wanted: list[str] = []
    for raw in names:
        name = " ".join(str(raw).split())[:60]
        if name and name.lower() not in {w.lower() for w in wanted}:
            wanted.append(name)
    existing = {label.name.lower(): label for label in Label.all_objects.filter(tenant_id=tenant_id)}
    labels = []
    for name in wanted:
        label = existing.get(name.lower())
        if label is None:
            label, _created = Label.all_objects.get_or_create(tenant_id=tenant_id, name=name)
        labels.append(label)
    return labels


@transaction.atomic
def conversation_create(
    *, tenant_id: int, actor: User | None, channel: Channel, contact: Contact,
    status: str = Conversation.Status.OPEN, assignee: User | None = None, team: Team | None = None,
    labels: Iterable[str] = (), priority: str = Conversation.Priority.NONE,
) -> Conversation:
    if channel.tenant_id != tenant_id or contact.tenant_id != tenant_id:
        raise ValidationFailed("Channel and contact must belong to this account.")
    if channel.archived_at is not None:
        raise ValidationFailed(_("This channel is archived."), details={"channel_id": ["Archived."]})
    if assignee is not None:
        _validate_assignee(tenant_id=tenant_id, channel=channel, assignee=assignee)
    conversation = Conversation.all_objects.create(
        tenant_id=tenant_id, channel=channel, contact=contact, status=status, assignee=assignee, team=team,
        priority=priority,
    )
    if labels:
        conversation.labels.set(_labels_by_name(tenant_id=tenant_id, names=labels))
    ids = _ids(conversation, channel)
    publish(ConversationCreated(tenant_pk=tenant_id, **ids))
    if assignee is not None or team is not None:
        publish(ConversationAssigned(
            tenant_pk=tenant_id, **ids, assignee_id=public_id_of(assignee), previous_assignee_id=None,
            team_id=public_id_of(team), actor_id=actor_id(actor),
        ))
    return conversation


@transaction.atomic
def conversation_update(
    *, conversation: Conversation, actor: User | None, status: str = UNSET, assignee: User | None = UNSET,
    team: Team | None = UNSET, labels: Iterable[str] = UNSET, priority: str = UNSET,
    snoozed_until: dt.datetime | None = UNSET,
) -> Conversation:
    """Change what agents change on a conversation; each kind of change publishes its event."""
    tenant_id = conversation.tenant_id
    old_status, old_assignee_id, old_team_id = conversation.status, conversation.assignee_id, conversation.team_id
    old_assignee: User | None = None
    changed: list[str] = []

    if snoozed_until is not UNSET and snoozed_until is not None and status is UNSET:
        status = Conversation.Status.SNOOZED
    if status is not UNSET and status != conversation.status:
        conversation.status = status
        changed.append("status")
    if conversation.status == Conversation.Status.SNOOZED:
        until = snoozed_until if snoozed_until is not UNSET else conversation.snoozed_until
        if until is None or until <= timezone.now():
            raise ValidationFailed(
                _("Snoozing needs a time in the future."), details={"snoozed_until": ["Give a future date and time."]}
            )
        if until != conversation.snoozed_until:
            conversation.snoozed_until = until
            changed.append("snoozed_until")
    elif conversation.snoozed_until is not None:
        conversation.snoozed_until = None
        changed.append("snoozed_until")

    if assignee is not UNSET and (assignee.pk if assignee else None) != old_assignee_id:
        if assignee is not None:
            _validate_assignee(tenant_id=tenant_id, channel=conversation.channel, assignee=assignee)
        old_assignee = conversation.assignee
        conversation.assignee = assignee
        changed.append("assignee")
    if team is not UNSET and (team.pk if team else None) != old_team_id:
        if team is not None and team.tenant_id != tenant_id:
            raise ValidationFailed(_("Unknown team."), details={"team_id": ["Not found."]})
        conversation.team = team
        changed.append("team")
    if priority is not UNSET and priority != conversation.priority:
        conversation.priority = priority
        changed.append("priority")

    labels_changed = False
    if labels is not UNSET:
        new_labels = _labels_by_name(tenant_id=tenant_id, names=labels)
        current = {label.pk for label in conversation.labels.all()}
        if {label.pk for label in new_labels} != current:
            conversation.labels.set(new_labels)
            labels_changed = True

    if changed:
        conversation.save(update_fields=[*changed, "updated_at"])
    elif labels_changed:
        conversation.save(update_fields=["updated_at"])

    ids = _ids(conversation, conversation.channel) if changed or labels_changed else {}
    if "status" in changed:
        publish(ConversationStatusChanged(
            tenant_pk=tenant_id, **ids, old_status=old_status, new_status=conversation.status,
            actor_id=actor_id(actor),
        ))
    if "assignee" in changed or "team" in changed:
        publish(ConversationAssigned(
            tenant_pk=tenant_id, **ids, assignee_id=public_id_of(conversation.assignee),
            previous_assignee_id=public_id_of(old_assignee if "assignee" in changed else conversation.assignee),
            team_id=public_id_of(conversation.team), actor_id=actor_id(actor),
        ))
    other = tuple(name for name in changed if name in ("priority", "snoozed_until")) + (
        ("labels",) if labels_changed else ()
    )
    if other:
        publish(ConversationUpdated(tenant_pk=tenant_id, **ids, changed=other, actor_id=actor_id(actor)))
    return conversation


def conversation_mark_read(*, conversation: Conversation, actor: User | None) -> Conversation:
    """An agent opened the conversation: nothing in it is unread any more. (Opening one with
    nothing unread, the usual case, opens no transaction: two statements less for each thread.)"""
    if conversation.unread_count == 0:
        return conversation
    with transaction.atomic():
        Conversation.all_objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0
        last_inbound = (
            Message.all_objects.filter(conversation=conversation, direction=Message.Direction.INBOUND)
            .order_by("-created_at", "-id").values_list("pk", "public_id").first()
        )
        publish(ConversationRead(
            tenant_pk=conversation.tenant_id, **_ids(conversation, conversation.channel), actor_id=actor_id(actor),
            last_read_message_pk=last_inbound[0] if last_inbound else None,
            last_read_message_id=str(last_inbound[1]) if last_inbound else None,
        ))
    return conversation
