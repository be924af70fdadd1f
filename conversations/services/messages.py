"""Messages agents and integrators write: replies (PENDING until the channel's adapter sends
them), private notes, templates, edits of notes and metadata, sending a failed reply again,
and files kept with a message."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _

from accounts.models import User
from channels_app.kinds import ChannelKind
from channels_app.models import MessageTemplate
from config.errors import ApplicationError, ConflictError, ValidationFailed
from conversations.events import MessageCreated, MessageRetryRequested, MessageStatusChanged, MessageUpdated
from conversations.models import Attachment, Conversation, Message
from conversations.services.attachments import (
    AttachmentKind,
    attachment_file_kind,
    attachment_kind,
    attachment_storage_name,
)
from conversations.services.common import UNSET, actor_id, conversations_touch, message_ids, touches_for
from conversations.services.statuses import NO_PROVIDER, NO_PROVIDER_MESSAGE
from tenants.events import publish
from tenants.services import tenant_check_limit, tenant_messages_this_month, tenant_record_messages

MAX_CONTENT_LENGTH = 10_000


class ServiceWindowClosed(ApplicationError):
    status_code = 422
    default_code = "service_window_closed"


def _validate_content(content: str, message_type: str, *, kind: ChannelKind | None = None) -> str:
    """The text of a message, if it fits: the product's limit, and the channel's provider's
    (`kind`, for what goes to a contact)."""
    content = content or ""
    limit = min(MAX_CONTENT_LENGTH, kind.max_text_length or MAX_CONTENT_LENGTH) if kind else MAX_CONTENT_LENGTH
    if len(content) > limit:
        raise ValidationFailed(
            _("A message holds at most %(count)s characters here.") % {"count": f"{limit:,}".replace(",", ".")},
            details={"content": ["Too long."]},
        )
    if message_type == Message.Type.TEXT and not content.strip():
        raise ValidationFailed(_("Write something to send."), details={"content": ["This field may not be blank."]})
    return content


_MEDIA_TYPES = (("image/", Message.Type.IMAGE), ("video/", Message.Type.VIDEO), ("audio/", Message.Type.AUDIO))


def _attachment_type(content_type: str) -> str:
    return next((kind for prefix, kind in _MEDIA_TYPES if content_type.startswith(prefix)), Message.Type.DOCUMENT)


def _validate_attachments(files: list[UploadedFile[bytes]], *, kind: ChannelKind | None = None) -> list[AttachmentKind]:
    """Files that the product keeps and, for what goes to a contact, that the channel's
    provider (`kind`) takes: size, and the type their bytes are (not the one declared).
    Returns what each file is."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if kind is not None and kind.max_media_bytes:
        limit = min(limit, kind.max_media_bytes)
    found = []
    for upload in files:
        if upload.size and upload.size > limit:
            raise ValidationFailed(
                _("%(name)s is larger than %(size)s MB.") % {"name": upload.name, "size": limit // (1024 * 1024)},
                details={"attachments": ["Too large."]},
            )
        file_kind = attachment_file_kind(upload, declared=upload.content_type or "")
        if kind is not None and not kind.takes_media(file_kind.content_type):
            raise ValidationFailed(
                _("%(kind)s does not send files of type %(type)s.") % {"kind": kind.label,
                                                                       "type": file_kind.content_type},
                details={"attachments": ["Type not accepted by the channel."]},
            )
        found.append(file_kind)
    return found


def _count_after_commit(tenant: Any, count: int = 1) -> None:
    """Count a reply against the monthly allowance once its transaction commits: the counter is
    one row per tenant, and updating it inside every reply's transaction made all of a
    tenant's concurrent replies wait on that row's lock."""
    transaction.on_commit(lambda: tenant_record_messages(tenant=tenant, count=count))


@transaction.atomic
def message_send(
    *, conversation: Conversation, actor: User | None, content: str, private: bool = False,
    message_type: str = Message.Type.TEXT, content_attributes: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None, reply_to: Message | None = None, external_id: str | None = None,
    sender_type: str = Message.SenderType.AGENT, attachments: list[UploadedFile[bytes]] | None = None,
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
    kind = None if private else conversation.channel.kind_info  # a note goes to no provider
    file_kinds = _validate_attachments(files, kind=kind)
    if files and message_type == Message.Type.TEXT:
        message_type = _attachment_type(file_kinds[0].content_type)
    content = _validate_content(content, message_type, kind=kind)
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
    if kind is not None and not kind.available:  # nothing would ever send it: it fails now, and says why
        message.status, message.error_code, message.error_message = (
            Message.Status.FAILED, NO_PROVIDER, NO_PROVIDER_MESSAGE)
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:  # a concurrent retry with the same external_id won
        return Message.all_objects.get(channel_id=conversation.channel_id, external_id=external_id), False
    for upload, file_kind in zip(files, file_kinds, strict=True):
        Attachment.all_objects.create(
            tenant_id=conversation.tenant_id, message=message, file_name=(upload.name or "")[:255],
            file=File(upload, name=attachment_storage_name(file_kind)), content_type=file_kind.content_type,
            size=upload.size,
        )
    conversations_touch(tenant_id=conversation.tenant_id, touches=touches_for([message]))
    conversation.refresh_from_db(fields=["last_activity_at", "last_message_preview"])  # keep the caller's true
    if not private:
        _count_after_commit(conversation.tenant)
    publish(MessageCreated(
        tenant_pk=conversation.tenant_id, **message_ids(message, conversation=conversation,
                                                        channel=conversation.channel),
        direction=message.direction, private=private,
    ))
    return message, True


@transaction.atomic
def message_update(
    *, message: Message, actor: User | None, content: str = UNSET, metadata: dict[str, Any] = UNSET
) -> Message:
    """Edit a private note's text, or any message's metadata. What was sent to a contact
    cannot be rewritten."""
    changed: list[str] = []
    if content is not UNSET and content != message.content:
        if not message.private:
            raise ConflictError(
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
        publish(MessageUpdated(tenant_pk=message.tenant_id, **message_ids(message), changed=tuple(changed)))
    return message


@transaction.atomic
def message_retry(*, message: Message, actor: User | None) -> Message:
    """Send a FAILED reply again: it goes back to PENDING and the channel sends it anew
    (under a new provider id: the failed attempt's id belongs to that attempt)."""
    locked = Message.all_objects.select_for_update().get(pk=message.pk)
    if locked.status != Message.Status.FAILED or locked.direction != Message.Direction.OUTBOUND or locked.private:
        raise ConflictError(_("Only a failed reply can be sent again."), code="message_not_retryable",
                               details={"status": [locked.status]})
    if not message.channel.kind_info.available:
        raise ConflictError(gettext(NO_PROVIDER_MESSAGE), code=NO_PROVIDER, details={"status": [locked.status]})
    locked.status, locked.error_code, locked.error_message = Message.Status.PENDING, "", ""
    locked.provider_message_id = None
    locked.sent_at = locked.delivered_at = locked.read_at = locked.send_after = locked.send_lease_until = None
    locked.send_attempts = 0
    locked.save(update_fields=["status", "error_code", "error_message", "provider_message_id", "sent_at",
                               "delivered_at", "read_at", "send_attempts", "send_after", "send_lease_until",
                               "updated_at"])
    ids = message_ids(locked, conversation=message.conversation, channel=message.channel)
    publish(MessageStatusChanged(tenant_pk=locked.tenant_id, **ids, status=locked.status, error_code=""))
    publish(MessageRetryRequested(tenant_pk=locked.tenant_id, **ids, actor_id=actor_id(actor)))
    return locked


# What an agent may react with: one emoji (a few code points: skin tones, joiners), or "" to
# take a reaction back.
MAX_REACTION_LENGTH = 16


def message_react(*, message: Message, actor: User | None, emoji: str, external_id: str | None = None,
                  ) -> tuple[Message, bool]:
    """React to a message of the conversation with an emoji ("" takes the reaction back): a
    REACTION reply that the channel's provider sends as the reaction to that message."""
    conversation = message.conversation
    if not conversation.channel.kind_info.reactions:
        raise ValidationFailed(_("This channel does not send reactions."), code="reactions_not_supported",
                               details={"type": [_("This channel does not send reactions.")]})
    emoji = emoji.strip()
    if len(emoji) > MAX_REACTION_LENGTH or (emoji and not any(ord(char) > 0x2000 for char in emoji)):
        raise ValidationFailed(_("React with one emoji."), details={"content": [_("React with one emoji.")]})
    if message.private or not message.provider_message_id or message.deleted_at is not None:
        raise ValidationFailed(_("Only a message the contact has can get a reaction."),
                               details={"reply_to_id": [_("Only a message the contact has can get a reaction.")]})
    return message_send(
        conversation=conversation, actor=actor, content=emoji, message_type=Message.Type.REACTION, reply_to=message,
        external_id=external_id, content_attributes={"reaction": {
            "message_id": str(message.public_id), "emoji": emoji, "removed": not emoji,
            "from_me": message.direction == Message.Direction.OUTBOUND}},
    )


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
    """Keep a file that came with a message (e.g. a contact's photo fetched from the provider),
    as the type its bytes are: `content_type` is only what the provider claims."""
    file_kind = attachment_kind(head=data, declared=content_type)
    attachment = Attachment.all_objects.create(
        tenant_id=message.tenant_id, message=message, file=ContentFile(data, name=attachment_storage_name(file_kind)),
        file_name=file_name[:255], content_type=file_kind.content_type, size=len(data),
    )
    publish(MessageUpdated(tenant_pk=message.tenant_id, **message_ids(message), changed=("attachments",)))
    return attachment
