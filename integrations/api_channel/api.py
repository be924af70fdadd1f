"""POST /api/v1/channels/{id}/messages: a contact's message, delivered by the integrator."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from channels_app.selectors import channel_list
from config.api.schema import Error
from config.api.serializers import EmailOrEmptyField, JSONObjectField, StrictCharField, StrictDateTimeField
from config.api.views import ApiView
from config.errors import ApplicationError, ValidationFailed
from conversations.api import MessageOutput
from conversations.incoming import IncomingMessage
from conversations.models import Message
from conversations.services import message_receive
from integrations.api_channel.adapter import ApiChannelAdapter


class InboundContact(serializers.Serializer[dict[str, Any]]):
    external_id = StrictCharField(max_length=255, help_text="The contact's id in your system.")
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    phone = StrictCharField(max_length=40, required=False, allow_blank=True, default="")
    email = EmailOrEmptyField(max_length=254, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        # The integrator tells who its contact is: an address that is none is refused (422, as
        # the contacts API does), not dropped as a provider's odd address would be.
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValidationFailed("contact.email: Not an email address.",
                                       details={"contact.email": ["Not an email address."]}) from None
        return value


class InboundMessageInput(serializers.Serializer[dict[str, Any]]):
    contact = InboundContact()
    content = StrictCharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    type = serializers.ChoiceField(choices=Message.Type.choices, default=Message.Type.TEXT)
    content_attributes = JSONObjectField(required=False, default=dict)
    external_id = StrictCharField(
        max_length=200, required=False, allow_null=True,
        help_text="Your id for this message: sending it again returns the first one instead of a copy.",
    )
    sent_at = StrictDateTimeField(required=False, allow_null=True)


class ApiChannelInboundView(ApiView):
    rate_limit_scope = "messages"
    required_permissions = {"post": "channels:ingest"}

    @extend_schema(
        request=InboundMessageInput, tags=["channels"],
        responses={201: MessageOutput, 200: OpenApiResponse(MessageOutput, description="A retry: the message stored first."),
                   409: OpenApiResponse(Error, description="channel_not_api: this channel's provider delivers its messages.")},
        summary="Deliver a contact's message to an API channel",
        description="Creates the contact (by its external id on this channel), the conversation and the message, "
                    "and pushes it to the agents live. Idempotent on `external_id`: a retry answers 200 with the "
                    "message first stored. Agents' replies come back as `message.created` events on "
                    "`/ws/v1/events` (and are then marked SENT).",
    )
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        access = cast(TenantAccess, request.auth)  # IsTenantMember let only a tenant's access through
        channel = get_object_or_404(channel_list(access=access), public_id=channel_id)
        if channel.kind != ApiChannelAdapter.kind:
            raise ApplicationError("Only API channels take messages through the API; this channel receives them "
                                   "from its provider.", code="channel_not_api", status_code=409)
        data = InboundMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        contact = values["contact"]
        external_id = values.get("external_id")
        message, created = message_receive(channel=channel, message=IncomingMessage(
            contact_external_id=contact["external_id"],
            provider_message_id=f"api:{external_id}" if external_id else f"api-generated:{uuid.uuid4()}",
            content=values["content"], type=values["type"], content_attributes=values["content_attributes"],
            contact_name=contact["name"], contact_phone=contact["phone"], contact_email=contact["email"],
            sent_at=values.get("sent_at"),
        ))
        return Response(MessageOutput(message).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
