"""Every change to conversations and messages, by agents, the API or providers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Membership, Role, User
from channels_app.models import Channel, ChannelUserObjectPermission, MessageTemplate
from config.errors import ApplicationError, ValidationFailed
from config.events import DomainEvent, publish, publish_many
from config.sql import columns, execute, fetch_all, for_update, insert, instances, one_of, update
from contacts.models import Contact, ContactIdentity
from contacts.services import contact_identity_resolve
from conversations.events import (
    ConversationAssigned,
    ConversationCreated,
    ConversationRead,
    ConversationStatusChanged,
    ConversationUpdated,
    MessageCreated,
    MessageRetryRequested,
    MessageStatusChanged,
    MessageUpdated,
)
from conversations.models import Attachment, Conversation, Label, Message, Team
from tenants.services import tenant_check_limit, tenant_messages_this_month, tenant_record_messages


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
PREVIEW_LENGTH = 200
MAX_CONTENT_LENGTH = 10_000


def _preview(message: Message) -> str:
    text = message.content.strip() or f"[{message.get_type_display()}]"
    return " ".join(text.split())[:PREVIEW_LENGTH]


def _actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None else None


def _validate_assignee(*, tenant_id: int, channel: Channel, assignee: User) -> None:
    membership = Membership.all_objects.filter(tenant_id=tenant_id, user=assignee).first()
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


def _labels_by_name(*, tenant_id: int, names: Iterable[str]) -> list[Label]:
    wanted = []
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
    publish(ConversationCreated(tenant_id=tenant_id, conversation_id=conversation.pk, channel_id=channel.pk))
    if assignee is not None or team is not None:
        publish(
            ConversationAssigned(
                tenant_id=tenant_id, conversation_id=conversation.pk, channel_id=channel.pk,
                assignee_id=assignee.pk if assignee else None, previous_assignee_id=None,
                team_id=team.pk if team else None, actor_id=_actor_id(actor),
            )
        )
    return conversation


@transaction.atomic
def conversation_update(
    *, conversation: Conversation, actor: User | None, status: str = UNSET, assignee: User | None = UNSET,
    team: Team | None = UNSET, labels: Iterable[str] = UNSET, priority: str = UNSET,
    snoozed_until: dt.datetime | None = UNSET,
) -> Conversation:
    """Change what agents change on a conversation; each kind of change publishes its event."""
    tenant_id, channel_id = conversation.tenant_id, conversation.channel_id
    old_status, old_assignee_id, old_team_id = conversation.status, conversation.assignee_id, conversation.team_id
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

    if "status" in changed:
        publish(ConversationStatusChanged(
            tenant_id=tenant_id, conversation_id=conversation.pk, channel_id=channel_id, old_status=old_status,
            new_status=conversation.status, actor_id=_actor_id(actor),
        ))
    if "assignee" in changed or "team" in changed:
        publish(ConversationAssigned(
            tenant_id=tenant_id, conversation_id=conversation.pk, channel_id=channel_id,
            assignee_id=conversation.assignee_id, previous_assignee_id=old_assignee_id,
            team_id=conversation.team_id, actor_id=_actor_id(actor),
        ))
    other = tuple(name for name in changed if name in ("priority", "snoozed_until")) + (
        ("labels",) if labels_changed else ()
    )
    if other:
        publish(ConversationUpdated(
            tenant_id=tenant_id, conversation_id=conversation.pk, channel_id=channel_id, changed=other,
            actor_id=_actor_id(actor),
        ))
    return conversation


class ServiceWindowClosed(ApplicationError):
    status_code = 422
    default_code = "service_window_closed"


def _validate_content(content: str, message_type: str) -> str:
    content = content or ""
    if len(content) > MAX_CONTENT_LENGTH:
        raise ValidationFailed(
            _("A message holds at most %(count)s characters.") % {"count": MAX_CONTENT_LENGTH}, details={"content": ["Too long."]}
        )
    if message_type == Message.Type.TEXT and not content.strip():
        raise ValidationFailed(_("Write something to send."), details={"content": ["This field may not be blank."]})
    return content


_MEDIA_TYPES = (("image/", Message.Type.IMAGE), ("video/", Message.Type.VIDEO), ("audio/", Message.Type.AUDIO))


def _attachment_type(content_type: str) -> str:
    return next((kind for prefix, kind in _MEDIA_TYPES if content_type.startswith(prefix)), Message.Type.DOCUMENT)


def _validate_attachments(files: list[UploadedFile]) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    for upload in files:
        if upload.size and upload.size > limit:
            raise ValidationFailed(
                _("%(name)s is larger than %(size)s MB.") % {"name": upload.name, "size": limit // (1024 * 1024)}, details={"attachments": ["Too large."]}
            )


def _count_after_commit(tenant: Any, count: int = 1) -> None:
    """Count a message against the monthly allowance once its transaction commits: the
    counter is one row per tenant, and updating it inside every message's transaction made
    all of a tenant's concurrent messages wait on that row's lock."""
    transaction.on_commit(lambda: tenant_record_messages(tenant=tenant, count=count))


def _touch_conversation(*, conversation: Conversation, message: Message, inbound: bool) -> None:
    # A late delivery (a provider's retry) never moves the conversation back in time.
    newest = message.created_at >= conversation.last_activity_at
    updates: dict[str, Any] = {"last_activity_at": Greatest(F("last_activity_at"), Value(message.created_at)),
                               "updated_at": timezone.now()}
    if not message.private and newest:
        updates["last_message_preview"] = _preview(message)
    if inbound:
        updates["last_inbound_at"] = Coalesce(Greatest(F("last_inbound_at"), Value(message.created_at)),
                                              Value(message.created_at))
        updates["unread_count"] = F("unread_count") + 1
        if conversation.status in (Conversation.Status.RESOLVED, Conversation.Status.SNOOZED):
            updates["status"] = Conversation.Status.OPEN
            updates["snoozed_until"] = None
    Conversation.all_objects.filter(pk=conversation.pk).update(**updates)
    conversation.refresh_from_db(fields=["last_activity_at", "last_inbound_at", "last_message_preview", "status",
                                         "snoozed_until"])  # keep the caller's instance true (the counter aside)


@transaction.atomic
def message_send(
    *, conversation: Conversation, actor: User | None, content: str, private: bool = False,
    message_type: str = Message.Type.TEXT, content_attributes: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None, reply_to: Message | None = None, external_id: str | None = None,
    sender_type: str = Message.SenderType.AGENT, attachments: list[UploadedFile] | None = None,
) -> tuple[Message, bool]:
    """An agent's (or the API's) reply, PENDING until the channel's adapter sends it, or a
    private note. Idempotent on `external_id`: a retried request returns the first message.
    Returns the message and whether it was created now.

    On channels with a customer-service window, a free-form reply after the window
    closed is refused (422 service_window_closed): only a template may go out then."""
    if external_id:
        existing = Message.all_objects.filter(channel_id=conversation.channel_id, external_id=external_id).first()
        if existing is not None:
            if existing.conversation_id != conversation.pk:
                raise ValidationFailed("external_id is already used by another conversation's message.",
                                       details={"external_id": ["Already used."]})
            return existing, False
    files = list(attachments or [])
    _validate_attachments(files)
    if files and message_type == Message.Type.TEXT:
        message_type = _attachment_type(files[0].content_type or "")
    content = _validate_content(content, message_type)
    if not private and message_type != Message.Type.TEMPLATE and not conversation.service_window_open:
        conversation.refresh_from_db(fields=["last_inbound_at"])  # the contact may have just written
    if not private and message_type != Message.Type.TEMPLATE and not conversation.service_window_open:
        raise ServiceWindowClosed(
            _("More than 24 hours have passed since the contact's last message, so this channel only "
              "accepts an approved template now. Send a template, or add a private note."),
            details={"service_window_closes_at": conversation.service_window_closes_at.isoformat()
                     if conversation.service_window_closes_at else None},
        )
    if reply_to is not None and reply_to.conversation_id != conversation.pk:
        raise ValidationFailed(_("You can only reply to a message of the same conversation."),
                               details={"reply_to_id": ["Not in this conversation."]})
    if not private:
        tenant_check_limit(tenant=conversation.tenant, resource="messages",
                           current=tenant_messages_this_month(tenant=conversation.tenant))
    message = Message(
        tenant_id=conversation.tenant_id, conversation=conversation, channel_id=conversation.channel_id,
        direction=Message.Direction.OUTBOUND, sender_type=sender_type, sender_user=actor, type=message_type,
        content=content, content_attributes=content_attributes or {}, metadata=metadata or {}, private=private,
        status=Message.Status.SENT if private else Message.Status.PENDING, reply_to=reply_to,
        external_id=external_id or None,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:  # a concurrent retry with the same external_id won
        return Message.all_objects.get(channel_id=conversation.channel_id, external_id=external_id), False
    for upload in files:
        Attachment.all_objects.create(
            tenant_id=conversation.tenant_id, message=message, file=upload, file_name=(upload.name or "")[:255],
            content_type=(upload.content_type or "application/octet-stream")[:120], size=upload.size,
        )
    _touch_conversation(conversation=conversation, message=message, inbound=False)
    if not private:
        _count_after_commit(conversation.tenant)
    publish(MessageCreated(
        tenant_id=conversation.tenant_id, message_id=message.pk, conversation_id=conversation.pk,
        channel_id=conversation.channel_id, direction=message.direction, private=private,
    ))
    return message, True


@transaction.atomic
def message_receive(
    *, channel: Channel, contact_external_id: str, provider_message_id: str, content: str = "",
    message_type: str = Message.Type.TEXT, content_attributes: dict[str, Any] | None = None,
    contact_name: str = "", contact_phone: str = "", contact_email: str = "", sent_at: dt.datetime | None = None,
    reply_to_provider_id: str | None = None,
) -> tuple[Message, bool]:
    """Record a message a contact sent on `channel`. Idempotent: the unique
    (channel, provider_message_id) makes a redelivered or concurrent duplicate return the
    message stored first. Inbound messages are always stored, whatever the plan's usage."""
    existing = Message.all_objects.filter(channel=channel, provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing, False
    identity = contact_identity_resolve(
        channel=channel, external_id=contact_external_id, name=contact_name, phone=contact_phone, email=contact_email
    )
    # One contact's messages are serialised here, so concurrent first messages share one conversation.
    Contact.all_objects.select_for_update().filter(pk=identity.contact_id).first()
    conversation = (
        Conversation.all_objects.filter(channel=channel, contact_id=identity.contact_id)
        .exclude(status=Conversation.Status.RESOLVED).order_by("-last_activity_at").first()
    )
    if conversation is None:
        conversation = Conversation.all_objects.filter(channel=channel, contact_id=identity.contact_id).order_by(
            "-last_activity_at").first()
    if conversation is None:
        conversation = Conversation.all_objects.create(
            tenant_id=channel.tenant_id, channel=channel, contact_id=identity.contact_id
        )
        publish(ConversationCreated(tenant_id=channel.tenant_id, conversation_id=conversation.pk,
                                    channel_id=channel.pk))
    was_status = conversation.status
    message = Message(
        tenant_id=channel.tenant_id, conversation=conversation, channel=channel, direction=Message.Direction.INBOUND,
        sender_type=Message.SenderType.CONTACT, type=message_type, content=content or "",
        content_attributes=content_attributes or {}, status=Message.Status.DELIVERED,
        provider_message_id=provider_message_id, created_at=sent_at or timezone.now(),
        reply_to=Message.all_objects.filter(channel=channel, provider_message_id=reply_to_provider_id).first()
        if reply_to_provider_id else None,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return Message.all_objects.get(channel=channel, provider_message_id=provider_message_id), False
    _touch_conversation(conversation=conversation, message=message, inbound=True)
    _count_after_commit(channel.tenant)
    if was_status in (Conversation.Status.RESOLVED, Conversation.Status.SNOOZED):
        publish(ConversationStatusChanged(
            tenant_id=channel.tenant_id, conversation_id=conversation.pk, channel_id=channel.pk,
            old_status=was_status, new_status=Conversation.Status.OPEN, actor_id=None,
        ))
    publish(MessageCreated(
        tenant_id=channel.tenant_id, message_id=message.pk, conversation_id=conversation.pk, channel_id=channel.pk,
        direction=message.direction, private=False, has_media="media" in message.content_attributes,
    ))
    return message, True


# Conversations a batch of inbound messages joins directly; a snoozed one reopens, which
# message_receive does (with its event) one message at a time.
_JOINABLE = (Conversation.Status.OPEN, Conversation.Status.PENDING)


@transaction.atomic(savepoint=False)  # in a batch's transaction: a failure fails the batch
def message_receive_many(*, channel: Channel, messages: list[dict[str, Any]],
                         usage: dict[int, int] | None = None) -> list[tuple[Message, bool]]:
    """`message_receive` for a provider's batch of messages on one channel (each item holds
    message_receive's arguments but the channel), with the same outcome in a handful of
    statements instead of a dozen per message: one read each for the senders, their open
    conversations and the replied-to messages, one INSERT of the new messages (those stored
    before are left out by the database and read then), one UPDATE of their conversations,
    one INSERT into the event log.

    A message whose sender or conversation is new (or snoozed) goes through message_receive
    one by one; messages a concurrent delivery stored first are returned as stored.
    `usage`: where to add the count of the messages stored by the batch (by tenant id), for a
    caller that records them itself in its transaction; otherwise they count after commit.
    Returns (message, created) per item, in order."""
    # The reads of this hot path are plain SQL: through the ORM, compiling each one cost more
    # CPU than running it (~1 ms each on a small machine, for every batch of one message).
    # Messages stored before (a provider's redelivery) are not looked up first: the INSERT
    # leaves them out (ON CONFLICT) and they are read then, and message_receive (for the
    # rest) returns them as stored.
    results: dict[str, tuple[Message, bool]] = {}
    fresh: list[dict[str, Any]] = []
    taken: set[str] = set()
    for item in messages:  # the first of each new id
        if item["provider_message_id"] not in taken:
            taken.add(item["provider_message_id"])
            fresh.append(item)
    senders = sorted({item["contact_external_id"] for item in fresh})
    contacts: dict[str, int] = {}
    if senders:
        known, known_params = one_of("external_id", senders)
        contacts = dict(fetch_all(f"SELECT external_id, contact_id FROM {ContactIdentity._meta.db_table} "
                                  f"WHERE channel_id = %s AND {known}", [channel.pk, *known_params]))
    # No contact lock here (message_receive takes it to open one conversation for concurrent
    # first messages): a batch only joins conversations that are open already. They are
    # locked in id order: batches that share conversations wait for each other instead of
    # deadlocking (which also orders their inserts of the same message).
    contact_ids = sorted(set(contacts.values()))
    lock = for_update()
    conversations: dict[int, tuple[int, str, Any]] = {}
    of_contacts, of_contacts_params = one_of("contact_id", contact_ids or [0])
    for pk, contact_id, status, last_activity_at in fetch_all(
            f"SELECT id, contact_id, status, last_activity_at FROM {Conversation._meta.db_table} "
            f"WHERE channel_id = %s AND {of_contacts} AND status <> %s ORDER BY id{lock}",
            [channel.pk, *of_contacts_params, Conversation.Status.RESOLVED]) if contact_ids else []:
        # the most recently active (compared as stored: datetimes, or ISO text on SQLite)
        if contact_id not in conversations or last_activity_at > conversations[contact_id][2]:
            conversations[contact_id] = (pk, status, last_activity_at)
    reply_ids = {item["reply_to_provider_id"] for item in fresh if item.get("reply_to_provider_id")}
    replied = dict(Message.all_objects.filter(channel=channel, provider_message_id__in=reply_ids).order_by()
                   .values_list("provider_message_id", "pk")) if reply_ids else {}
    batch: list[Message] = []
    one_by_one: list[dict[str, Any]] = []
    for item in fresh:
        contact_id = contacts.get(item["contact_external_id"])
        conversation = conversations.get(contact_id) if contact_id else None
        if conversation is None or conversation[1] not in _JOINABLE or (
                item.get("reply_to_provider_id") and item["reply_to_provider_id"] not in replied):
            one_by_one.append(item)
            continue
        batch.append(Message(
            tenant_id=channel.tenant_id, conversation_id=conversation[0], channel=channel,
            direction=Message.Direction.INBOUND, sender_type=Message.SenderType.CONTACT,
            type=item.get("message_type", Message.Type.TEXT), content=item.get("content") or "",
            content_attributes=item.get("content_attributes") or {}, status=Message.Status.DELIVERED,
            provider_message_id=item["provider_message_id"], created_at=item.get("sent_at") or timezone.now(),
            reply_to_id=replied.get(item.get("reply_to_provider_id") or ""),
        ))
    if batch:
        inserted = insert(batch, conflicts_by="provider_message_id")
        if len(inserted) < len(batch):  # a concurrent delivery stored some first (committed by now)
            went_in = {message.provider_message_id for message in inserted}
            lost = [message.provider_message_id for message in batch if message.provider_message_id not in went_in]
            results.update((message.provider_message_id, (message, False)) for message in Message.all_objects.filter(
                channel=channel, provider_message_id__in=lost).order_by())
            one_by_one += [item for item in fresh if item["provider_message_id"] in lost
                           and item["provider_message_id"] not in results]
            batch = inserted
    if batch:
        _touch_conversations(batch)
        if usage is None:
            _count_after_commit(channel.tenant, count=len(batch))
        else:  # the caller counts them (tenant_record_messages) once its other locks are taken
            usage[channel.tenant_id] = usage.get(channel.tenant_id, 0) + len(batch)
        publish_many([MessageCreated(
            tenant_id=channel.tenant_id, message_id=message.pk, conversation_id=message.conversation_id,
            channel_id=channel.pk, direction=message.direction, private=False,
            has_media="media" in message.content_attributes,
        ) for message in batch])
        results.update((message.provider_message_id, (message, True)) for message in batch)
    # New senders in one order (stable: a sender's messages keep theirs), so that two batches
    # creating the same contacts take their locks in the same order instead of deadlocking.
    for item in sorted(one_by_one, key=lambda item: item["contact_external_id"]):
        results[item["provider_message_id"]] = message_receive(channel=channel, **item)
    seen: set[str] = set()
    ordered = []
    for item in messages:  # a repeat within the batch is not created twice
        message, created = results[item["provider_message_id"]]
        ordered.append((message, created and item["provider_message_id"] not in seen))
        seen.add(item["provider_message_id"])
    return ordered


def _touch_conversations(messages: list[Message]) -> None:
    """_touch_conversation for a batch of inbound messages to open conversations."""
    newest: dict[int, Message] = {}
    counts: dict[int, int] = {}
    for message in messages:
        key = message.conversation_id
        counts[key] = counts.get(key, 0) + 1
        if key not in newest or message.created_at >= newest[key].created_at:
            newest[key] = message
    now = timezone.now()
    if connection.vendor != "postgresql":
        for key, message in newest.items():
            Conversation.all_objects.filter(pk=key).update(
                last_activity_at=Greatest(F("last_activity_at"), Value(message.created_at)),
                last_inbound_at=Coalesce(Greatest(F("last_inbound_at"), Value(message.created_at)),
                                         Value(message.created_at)),
                last_message_preview=Case(When(last_activity_at__lte=Value(message.created_at),
                                               then=Value(_preview(message))), default=F("last_message_preview")),
                unread_count=F("unread_count") + counts[key], updated_at=now,
            )
        return
    # One statement for the whole batch. The ORM's per-row CASE expressions cost more CPU
    # than the messages themselves here (this runs for every inbound message).
    keys = list(newest)
    execute(
        """UPDATE conversations_conversation AS c SET
               last_activity_at = GREATEST(c.last_activity_at, v.at),
               last_inbound_at = GREATEST(COALESCE(c.last_inbound_at, v.at), v.at),
               last_message_preview = CASE WHEN v.at >= c.last_activity_at THEN v.preview
                                           ELSE c.last_message_preview END,
               unread_count = c.unread_count + v.n,
               updated_at = %s
           FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::text[]) AS v(id, at, n, preview)
           WHERE c.id = v.id AND c.tenant_id = %s""",
        [now, keys, [newest[key].created_at for key in keys], [counts[key] for key in keys],
         [_preview(newest[key]) for key in keys], messages[0].tenant_id],
    )


@transaction.atomic
def message_update(
    *, message: Message, actor: User | None, content: str = UNSET, metadata: dict[str, Any] = UNSET
) -> Message:
    """Edit a private note's text, or any message's metadata. What was sent to a contact
    cannot be rewritten."""
    changed: list[str] = []
    if content is not UNSET and content != message.content:
        if not message.private:
            raise ValidationFailed(
                _("Only private notes can be edited; a message sent to a contact cannot be changed."),
                code="message_not_editable", details={"content": ["Only private notes can be edited."]},
            )
        message.content = _validate_content(content, message.type)
        changed.append("content")
    if metadata is not UNSET and metadata != message.metadata:
        message.metadata = metadata
        changed.append("metadata")
    if changed:
        message.save(update_fields=[*changed, "updated_at"])
        publish(MessageUpdated(
            tenant_id=message.tenant_id, message_id=message.pk, conversation_id=message.conversation_id,
            channel_id=message.channel_id, changed=tuple(changed),
        ))
    return message


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, actor: User | None) -> Conversation:
    """An agent opened the conversation: nothing in it is unread any more."""
    if conversation.unread_count == 0:
        return conversation
    Conversation.all_objects.filter(pk=conversation.pk).update(unread_count=0)
    conversation.unread_count = 0
    last_inbound = (
        Message.all_objects.filter(conversation=conversation, direction=Message.Direction.INBOUND)
        .order_by("-created_at", "-id").values_list("pk", flat=True).first()
    )
    publish(ConversationRead(
        tenant_id=conversation.tenant_id, conversation_id=conversation.pk, channel_id=conversation.channel_id,
        actor_id=_actor_id(actor), last_read_message_id=last_inbound,
    ))
    return conversation


# Delivery only moves forward: a late "sent" never overwrites "read". FAILED stands apart:
# it ends a message that was never delivered, and a delivery report after it wins.
_STATUS_RANK = {
    Message.Status.PENDING: 0, Message.Status.QUEUED: 1, Message.Status.FAILED: 2, Message.Status.SENT: 3,
    Message.Status.DELIVERED: 4, Message.Status.READ: 5,
}
_STATUS_TIME_FIELD = {Message.Status.SENT: "sent_at", Message.Status.DELIVERED: "delivered_at",
                      Message.Status.READ: "read_at"}


@transaction.atomic
def message_status_update(
    *, message: Message, status: str, provider_message_id: str | None = None, error_code: str = "",
    error_message: str = "", at: dt.datetime | None = None,
) -> bool:
    """Move an outbound message's delivery status forward (never backwards). Returns
    whether anything changed."""
    locked = Message.all_objects.select_for_update().get(pk=message.pk)
    changed = message_status_advance(locked=locked, status=status, provider_message_id=provider_message_id,
                                     error_code=error_code, error_message=error_message, at=at)
    message.status = locked.status
    return changed


def message_status_advance(
    *, locked: Message, status: str, provider_message_id: str | None = None, error_code: str = "",
    error_message: str = "", at: dt.datetime | None = None,
) -> bool:
    """message_status_update for a row the caller read with select_for_update in its open
    transaction (the sender): no second read of it."""
    fields = _status_apply(locked, status=status, provider_message_id=provider_message_id,
                           error_code=error_code, error_message=error_message, at=at)
    if fields is None:
        return False
    update(locked, fields)  # plain SQL: the sender runs this for every reply
    publish(_status_changed(locked, status))
    return True


# The columns a status can change; a batch writes them all for every message it changed.
_STATUS_COLUMNS = ("status", "updated_at", "sent_at", "delivered_at", "read_at", "error_code", "error_message")


def messages_lock_by_provider_id(*, channel_id: int, provider_message_ids: Collection[str]) -> list[Message]:
    """The channel's messages with these provider ids, locked in id order (batches about
    the same messages wait for each other instead of deadlocking), for
    message_statuses_advance. Plain SQL with the columns by name: through the ORM, compiling
    this read cost more than the status updates it serves (three per reply on WhatsApp)."""
    wanted, wanted_params = one_of("provider_message_id", sorted(provider_message_ids))
    return instances(Message, f"SELECT {columns(Message)} FROM {Message._meta.db_table} "
                              f"WHERE channel_id = %s AND {wanted} ORDER BY id{for_update()}", [channel_id, *wanted_params])


def message_statuses_advance(updates: list[tuple[Message, str, str, str, dt.datetime | None]]) -> int:
    """message_status_advance for a batch of provider statuses, (locked message, status,
    error code, error message, at) each, on rows the caller locked: each message is written
    once (one statement for the batch on PostgreSQL), and the events go in one INSERT.
    Returns how many statuses changed something."""
    changed: dict[int, Message] = {}
    events: list[DomainEvent] = []
    for locked, status, error_code, error_message, at in updates:
        if _status_apply(locked, status=status, error_code=error_code, error_message=error_message, at=at):
            changed[locked.pk] = locked
            events.append(_status_changed(locked, status))
    if not changed:
        return 0
    rows = list(changed.values())
    if connection.vendor == "postgresql":
        execute(
            """UPDATE conversations_message AS m SET status = v.status, updated_at = v.updated_at,
                   sent_at = v.sent_at, delivered_at = v.delivered_at, read_at = v.read_at,
                   error_code = v.error_code, error_message = v.error_message
               FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[],
                           %s::timestamptz[], %s::text[], %s::text[])
                    AS v(id, status, updated_at, sent_at, delivered_at, read_at, error_code, error_message)
               WHERE m.id = v.id""",
            [[row.pk for row in rows], *([getattr(row, column) for row in rows] for column in _STATUS_COLUMNS)],
        )
    else:
        for row in rows:
            update(row, _STATUS_COLUMNS)
    publish_many(events)
    return len(events)


def _status_changed(message: Message, status: str) -> MessageStatusChanged:
    return MessageStatusChanged(
        tenant_id=message.tenant_id, message_id=message.pk, conversation_id=message.conversation_id,
        channel_id=message.channel_id, status=status, error_code=message.error_code,
    )


def _status_apply(
    locked: Message, *, status: str, provider_message_id: str | None = None, error_code: str = "",
    error_message: str = "", at: dt.datetime | None = None,
) -> list[str] | None:
    """Move `locked` (in memory) to `status` if that is forward; the fields it changed, or None.
    FAILED may follow SENT (the provider reports an undeliverable message after accepting it);
    after FAILED only proof of delivery (DELIVERED, READ) counts, not a late SENT."""
    if status == Message.Status.FAILED:
        if locked.status not in (Message.Status.PENDING, Message.Status.QUEUED, Message.Status.SENT):
            return None
    elif locked.status == Message.Status.FAILED:
        if status not in (Message.Status.DELIVERED, Message.Status.READ):
            return None
    elif _STATUS_RANK[status] <= _STATUS_RANK[locked.status]:
        return None
    fields = ["status", "updated_at"]
    locked.status = status
    locked.updated_at = timezone.now()
    moment = at or timezone.now()
    time_field = _STATUS_TIME_FIELD.get(status)
    if time_field:
        setattr(locked, time_field, moment)
        fields.append(time_field)
        # a delivery report implies the earlier steps happened
        for earlier, field in _STATUS_TIME_FIELD.items():
            if _STATUS_RANK[earlier] < _STATUS_RANK[status] and getattr(locked, field) is None:
                setattr(locked, field, moment)
                fields.append(field)
    if status == Message.Status.FAILED:
        locked.error_code, locked.error_message = error_code[:64], error_message[:500]
        fields += ["error_code", "error_message"]
    if provider_message_id and not locked.provider_message_id:
        locked.provider_message_id = provider_message_id
        fields.append("provider_message_id")
    return fields


@transaction.atomic
def message_retry(*, message: Message, actor: User | None) -> Message:
    """Send a FAILED reply again: it goes back to PENDING and the channel sends it anew
    (under a new provider id: the failed attempt's id belongs to that attempt)."""
    locked = Message.all_objects.select_for_update().get(pk=message.pk)
    if locked.status != Message.Status.FAILED or locked.direction != Message.Direction.OUTBOUND or locked.private:
        raise ValidationFailed(_("Only a failed reply can be sent again."), code="message_not_retryable",
                               details={"status": [locked.status]})
    locked.status, locked.error_code, locked.error_message = Message.Status.PENDING, "", ""
    locked.provider_message_id = None
    locked.sent_at = locked.delivered_at = locked.read_at = locked.send_after = None
    locked.send_attempts = 0
    locked.save(update_fields=["status", "error_code", "error_message", "provider_message_id", "sent_at",
                               "delivered_at", "read_at", "send_attempts", "send_after", "updated_at"])
    publish(MessageStatusChanged(
        tenant_id=locked.tenant_id, message_id=locked.pk, conversation_id=locked.conversation_id,
        channel_id=locked.channel_id, status=locked.status, error_code="",
    ))
    publish(MessageRetryRequested(
        tenant_id=locked.tenant_id, message_id=locked.pk, conversation_id=locked.conversation_id,
        channel_id=locked.channel_id, actor_id=_actor_id(actor),
    ))
    return locked


def message_send_template(
    *, conversation: Conversation, actor: User | None, template: MessageTemplate, parameters: list[str],
    external_id: str | None = None,
) -> tuple[Message, bool]:
    """Send an approved template (allowed outside the customer-service window)."""
    if template.channel_id != conversation.channel_id or not template.is_usable:
        raise ValidationFailed(_("This template cannot be used on this channel."),
                               details={"template": [_("Not approved for this channel.")]})
    parameters = [str(value).strip() for value in parameters]
    if len(parameters) != template.parameter_count or not all(parameters):
        count = template.parameter_count
        raise ValidationFailed(
            ngettext("This template needs %(count)s value.", "This template needs %(count)s values.", count)
            % {"count": count},
            details={"parameters": [ngettext("Give exactly %(count)s non-empty value.",
                                             "Give exactly %(count)s non-empty values.", count) % {"count": count}]},
        )
    return message_send(
        conversation=conversation, actor=actor, content=template.render(parameters),
        message_type=Message.Type.TEMPLATE, external_id=external_id,
        content_attributes={"template": {"name": template.name, "language": template.language,
                                         "parameters": parameters}},
    )


@transaction.atomic
def message_attach_file(*, message: Message, data: bytes, content_type: str, file_name: str) -> Attachment:
    """Keep a file that came with a message (e.g. a contact's photo fetched from the provider)."""
    from django.core.files.base import ContentFile

    attachment = Attachment.all_objects.create(
        tenant_id=message.tenant_id, message=message, file=ContentFile(data, name=file_name[:255]),
        file_name=file_name[:255], content_type=content_type[:120], size=len(data),
    )
    publish(MessageUpdated(tenant_id=message.tenant_id, message_id=message.pk, conversation_id=message.conversation_id,
                           channel_id=message.channel_id, changed=("attachments",)))
    return attachment
