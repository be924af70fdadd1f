"""What the seed contracts change, each through the product's own services: channels are created,
renamed, paired and disconnected by channels_app and integrations.pairing, a kind's settings
are made by that kind's own settings form, and messages go out through message_send. Nothing
here knows a provider's settings or wire format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from channels_app.models import Channel
from channels_app.services import channel_create
from config.errors import ApplicationError, ConflictError, ValidationFailed
from contacts.phones import InvalidPhone, phone_normalize
from contacts.services import contact_identity_resolve
from conversations.models import Conversation, Message
from conversations.services import conversation_create, message_send
from conversations.services.remote_files import remote_file_fetch
from integrations.base import ChannelSettings
from integrations.pairing import channel_pair, pairing_qr_png
from integrations.registry import adapter_class_for
from integrations.seed_contracts.kinds import CONNECT_TYPE, SEED_TYPES, form_field, seed_field
from tenants.models import Tenant

# The name of the channel seed 001's connect creates.
CONNECT_CHANNEL_NAME = "WhatsApp"


def seed_phone(raw: str, *, tenant: Tenant, field: str) -> str:
    """A phone number the seed's client typed, in E.164 (read as contacts.phones reads numbers:
    without a +country, in the account's country); 422 invalid_phone naming `field` otherwise."""
    try:
        number = phone_normalize(raw, default_region=tenant.default_country)
    except InvalidPhone:
        number = ""
    if not number:
        message = _("Not a phone number: write it in E.164, e.g. +5511987654321.")
        raise ValidationFailed(f"{field}: {message}", code="invalid_phone", details={field: [message]})
    return number


def _in_seed_words(refused: ValidationFailed, seed_type: str) -> ValidationFailed:
    """A refusal of a kind's form or provider, naming the seed's fields instead of the form's."""
    details = {seed_field(seed_type, str(name)) if isinstance(name, str) else name: errors
               for name, errors in refused.details.items()}
    return ValidationFailed(refused.message, code=refused.code, details=details)


def seed_channel_settings(*, seed_type: str, name: str, values: Mapping[str, str]) -> tuple[str, ChannelSettings]:
    """The kind of a seed's `type` and its settings, made by that kind's settings form from the
    seed's fields (each under the form's name for it; what the client left out, the form's
    initial value, as the settings page offers it). 422 with the form's refusals, by the seed's
    field names."""
    kind = SEED_TYPES[seed_type]
    adapter = adapter_class_for(kind)
    if adapter is None or adapter.form_class is None:
        raise ApplicationError(_("WhatsApp numbers of type %(type)s cannot be connected here: no provider of this "
                                 "installation serves them.") % {"type": seed_type},
                               code="channel_kind_not_available", status_code=422, details={"type": [seed_type]})
    fields = adapter.form_class.base_fields
    data: dict[str, Any] = {
        field_name: field.initial() if callable(field.initial) else field.initial
        for field_name, field in fields.items() if field.initial is not None}
    data.update({form_field(seed_type, name): value for name, value in values.items()
                 if form_field(seed_type, name) in fields})
    data["name"] = name
    form = adapter.form_class(data=data)
    if not form.is_valid():
        details = {seed_field(seed_type, name): [str(error) for error in errors] for name, errors in form.errors.items()}
        first_field, first_errors = next(iter(details.items()))
        message = first_errors[0] if first_field == "non_field_errors" else f"{first_field}: {first_errors[0]}"
        raise ValidationFailed(message, details=details)
    return kind, form.channel_settings()


def seed_instance_create(*, tenant: Tenant, actor: User | None, seed_type: str, name: str, phone: str,
                         values: Mapping[str, str]) -> Channel:
    """A WhatsApp channel of the seed's `type`, connected as any channel is (checked with its
    provider before it is saved; a number paired by QR code then waits for the scan). The number
    the client gave is kept as the channel's number until the provider tells the one paired."""
    number = seed_phone(phone, tenant=tenant, field="phoneNumber")
    kind, channel_settings = seed_channel_settings(seed_type=seed_type, name=name, values=values)
    config = {**channel_settings.config}
    config.setdefault("phone", number)
    try:
        return channel_create(tenant=tenant, actor=actor, kind=kind, name=channel_settings.name, config=config,
                              credentials=channel_settings.credentials)
    except ValidationFailed as refused:
        raise _in_seed_words(refused, seed_type) from None


def _require_qr_pairing(channel: Channel) -> None:
    adapter = adapter_class_for(channel.kind)
    if adapter is None or not adapter.capabilities.qr_pairing:
        raise ConflictError(_("This number is not paired by QR code."), code="not_paired_by_qr")
    if channel.status == Channel.Status.CONNECTED:
        raise ConflictError(_("This number is connected already: there is no QR code to scan. Disconnect it first "
                              "to pair another phone."), code="already_connected",
                            details={"status": [channel.status]})


def seed_instance_qr_code(*, channel: Channel) -> Channel:
    """The channel with a QR code (or pairing code) to show: the one waiting, else pairing is
    started. 409 when it is connected already, or not paired by QR code."""
    _require_qr_pairing(channel)
    if pairing_qr_png(channel) or (channel.config.get("pairing") or {}).get("pairing_code"):
        return channel
    return channel_pair(channel=channel)


def seed_instance_connect(*, channel: Channel) -> Channel:
    """Start pairing the channel again (a fresh QR code). 409 as seed_instance_qr_code."""
    _require_qr_pairing(channel)
    return channel_pair(channel=channel)


def seed_default_connect(*, tenant: Tenant, actor: User | None, channel: Channel | None) -> Channel:
    """Seed 001's connect: the account's number paired by QR code (`channel`), paired (again)
    unless it is connected; the account has none: one is created on this installation's
    connection service, named CONNECT_CHANNEL_NAME (422 when there is no such service)."""
    if channel is not None:
        return channel if channel.status == Channel.Status.CONNECTED else channel_pair(channel=channel)
    adapter = adapter_class_for(SEED_TYPES[CONNECT_TYPE])
    if adapter is None or not adapter.connects_without_settings():
        raise ApplicationError(
            _("This account has no WhatsApp number paired by QR code, and this installation has no connection "
              "service to pair one with: connect a number with your own server (POST /api/v1/whatsapp/instances "
              "with serverUrl and apiToken), or ask the installation's administrator to set up its connection "
              "service."), code="pairing_service_not_configured", status_code=422)
    kind, channel_settings = seed_channel_settings(seed_type=CONNECT_TYPE, name=CONNECT_CHANNEL_NAME, values={})
    return channel_create(tenant=tenant, actor=actor, kind=kind, name=channel_settings.name,
                          config=channel_settings.config, credentials=channel_settings.credentials)


def seed_conversation_for_phone(*, channel: Channel, actor: User | None, phone: str) -> Conversation:
    """The conversation with the person at `phone` (E.164) on `channel`: their contact on the
    channel (made on first sight, by the address WhatsApp knows them by, as a message from them
    would make it), and their latest conversation there that is not resolved, else a new one."""
    identity = contact_identity_resolve(channel=channel, external_id=phone.lstrip("+"), phone=phone)
    conversation = (Conversation.objects.filter(channel=channel, contact_id=identity.contact_id)
                    .exclude(status=Conversation.Status.RESOLVED).order_by("-last_activity_at", "-pk").first())
    if conversation is not None:
        return cast(Conversation, conversation)
    return conversation_create(tenant_id=channel.tenant_id, actor=actor, channel=channel, contact=identity.contact)


def seed_message_send(*, tenant: Tenant, actor: User | None, channel: Channel, phone: str, content: str,
                      media_url: str = "") -> Message:
    """A reply to the person at `phone` on `channel`, with a file by URL (fetched as the API's
    `media_url` is); their contact and conversation made when new. Nothing is kept when the reply
    is refused (e.g. the Cloud API's closed 24-hour window for a new conversation)."""
    number = seed_phone(phone, tenant=tenant, field="contactPhone")
    files: list[UploadedFile[bytes]] | None = (
        [remote_file_fetch(media_url, max_bytes=settings.ATTACHMENT_MAX_BYTES)] if media_url else None)
    with transaction.atomic():
        conversation = seed_conversation_for_phone(channel=channel, actor=actor, phone=number)
        message, _created = message_send(conversation=conversation, actor=actor, content=content, attachments=files)
    return message
