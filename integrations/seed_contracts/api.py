"""The seeds' JWT endpoints: parse, authorise (the API's roles and tenant scoping), call the
product's services (integrations.seed_contracts.services), render in the seed's words."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from accounts.models import User
from channels_app.models import Channel
from channels_app.services import channel_archive, channel_update
from config.api.schema import Error
from config.api.views import ApiGenericView, ApiView
from config.errors import NotFoundError
from conversations.api import MessageOutput
from conversations.models import Message
from conversations.selectors import conversation_list
from conversations.services import message_send
from integrations.pairing import channel_disconnect
from integrations.seed_contracts.kinds import SETTINGS_FIELDS
from integrations.seed_contracts.schema import SEED_000, SEED_001, SEED_004, SeedSchema
from integrations.seed_contracts.selectors import (
    seed_channel_messages,
    seed_default_qr_channel,
    seed_instances,
    seed_last_activity,
    seed_providers,
    seed_tenant_is,
)
from integrations.seed_contracts.serializers import (
    ConnectionStatusOutput,
    ConnectOutput,
    DisconnectOutput,
    InstanceCreateInput,
    InstanceMessageInput,
    InstanceOutput,
    InstanceQrCodeOutput,
    InstanceStatusOutput,
    InstanceUpdateInput,
    SendMessageInput,
    WhatsAppHealthOutput,
)
from integrations.seed_contracts.services import (
    seed_default_connect,
    seed_instance_connect,
    seed_instance_create,
    seed_instance_qr_code,
    seed_message_send,
)


def _access(request: Request) -> TenantAccess:
    return cast(TenantAccess, request.auth)  # IsTenantMember let only a tenant's access through


def _actor(request: Request) -> User:
    return _access(request).user


_PAIRING_ERRORS = {
    409: OpenApiResponse(Error, description="already_connected: the number is paired already; not_paired_by_qr: an "
                                            "OFFICIAL number has no QR code."),
    422: OpenApiResponse(Error, description="provider_refused: the provider refused it (its words)."),
    503: OpenApiResponse(Error, description="provider_unreachable: the provider could not be asked."),
}
# The seeds' example bodies.
_CREATE_EXAMPLES = [
    OpenApiExample("EVOLUTION (the default type)", request_only=True,
                   value={"name": "Loja", "phoneNumber": "+5511987654321", "type": "EVOLUTION"}),
    OpenApiExample("OFFICIAL", request_only=True,
                   value={"name": "Vendas", "phoneNumber": "+5511955550100", "type": "OFFICIAL",
                          "phoneNumberId": "100000000000002", "businessAccountId": "100000000000001",
                          "accessToken": "<access token>", "appSecret": "<app secret>"}),
    OpenApiExample("BAILEYS", request_only=True,
                   value={"name": "Celular", "phoneNumber": "+5511912345678", "type": "BAILEYS"}),
]
_MESSAGE_EXAMPLES = [
    OpenApiExample("Text", request_only=True, value={"contactPhone": "+5511987654321", "text": "Olá! Seu pedido saiu."}),
    OpenApiExample("A file by URL", request_only=True,
                   value={"contactPhone": "+5511987654321", "mediaUrl": "https://example.com/nota.pdf",
                          "caption": "Sua nota fiscal"}),
]
_CREATE_ERRORS = {
    422: OpenApiResponse(Error, description="invalid_phone; the type's settings missing or refused (by the seed's "
                                            "field names); the provider refused them; channel_kind_not_available."),
    503: OpenApiResponse(Error, description="provider_unreachable: the provider could not be asked."),
}


class _SeedView(ApiGenericView):
    schema = SeedSchema()
    seed_tag = SEED_000


# A view of the member's WhatsApp numbers, one by `{id}` in its URL (another tenant's: 404).
class _InstanceView(_SeedView):

    def get_queryset(self) -> QuerySet[Channel]:
        if getattr(self, "swagger_fake_view", False):
            return Channel.all_objects.none()
        return seed_instances(access=_access(self.request))


# --- seed 000: /api/v1/whatsapp/instances ------------------------------------------------------


class InstancesView(_InstanceView):
    serializer_class = InstanceOutput
    pagination_class = None  # an account has a handful of numbers
    required_permissions = {"get": "channels:read", "post": "channels:manage"}

    @extend_schema(responses={200: InstanceOutput(many=True)}, summary="The account's WhatsApp numbers")
    def get(self, request: Request) -> Response:
        return Response(InstanceOutput(cast(Any, self.get_queryset()), many=True).data)

    @extend_schema(request=InstanceCreateInput, responses={201: InstanceOutput, **_CREATE_ERRORS},
                   examples=_CREATE_EXAMPLES, summary="Connect a WhatsApp number",
                   description="A channel of the type's kind, checked with its provider before it is saved (as "
                               "POST /api/v1/channels does). A number paired by QR code answers with its first QR "
                               "code (status QR_PENDING) or without one yet (CONNECTING: ask GET .../qrcode).")
    def post(self, request: Request) -> Response:
        data = InstanceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        channel = seed_instance_create(
            tenant=_access(request).tenant, actor=_actor(request), seed_type=values["type"], name=values["name"],
            phone=values["phoneNumber"], values={name: values[name] for name in SETTINGS_FIELDS if values.get(name)})
        return Response(InstanceOutput(channel).data, status=status.HTTP_201_CREATED)


class InstanceView(_InstanceView):
    serializer_class = InstanceOutput
    required_permissions = {"get": "channels:read", "put": "channels:manage", "delete": "channels:manage"}

    @extend_schema(summary="A WhatsApp number")
    def get(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002 - the seed's name
        return Response(InstanceOutput(self.get_object()).data)

    @extend_schema(request=InstanceUpdateInput, responses={200: InstanceOutput}, summary="Rename a WhatsApp number")
    def put(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        channel = self.get_object()
        data = InstanceUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        channel = channel_update(channel=channel, actor=_actor(request), name=data.validated_data["name"])
        return Response(InstanceOutput(channel).data)

    @extend_schema(responses={204: None}, summary="Archive a WhatsApp number (its conversations are kept)")
    def delete(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        channel_archive(channel=self.get_object(), actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InstanceQrCodeView(_InstanceView):
    serializer_class = InstanceQrCodeOutput
    # Who sees the QR code can pair a phone of their own with the number.
    required_permissions = {"get": "channels:manage"}

    @extend_schema(responses={200: InstanceQrCodeOutput, **_PAIRING_ERRORS},
                   summary="The QR code to pair the number with a phone",
                   description="The one waiting, else pairing is started for a fresh one. 409 when the number is "
                               "connected already.")
    def get(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        return Response(InstanceQrCodeOutput(seed_instance_qr_code(channel=self.get_object())).data)


class InstanceConnectView(_InstanceView):
    serializer_class = InstanceQrCodeOutput
    required_permissions = {"post": "channels:manage"}

    @extend_schema(request=None, responses={200: InstanceQrCodeOutput, **_PAIRING_ERRORS},
                   summary="Pair the number with a phone: a fresh QR code")
    def post(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        return Response(InstanceQrCodeOutput(seed_instance_connect(channel=self.get_object())).data)


class InstanceStatusView(_InstanceView):
    serializer_class = InstanceStatusOutput
    required_permissions = {"get": "channels:read"}

    @extend_schema(summary="The number's connection status")
    def get(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        return Response(InstanceStatusOutput(self.get_object()).data)


class InstanceDisconnectView(_InstanceView):
    serializer_class = InstanceOutput
    required_permissions = {"post": "channels:manage"}

    @extend_schema(request=None, responses={200: InstanceOutput, **_PAIRING_ERRORS},
                   summary="Log the paired phone out (the number stays, to be paired again)")
    def post(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        return Response(InstanceOutput(channel_disconnect(channel=self.get_object(), actor=_actor(request))).data)


class InstanceMessagesView(_InstanceView):
    serializer_class = MessageOutput
    rate_limit_scope = "messages"
    ordering = ("-created_at", "-id")
    required_permissions = {"get": "conversations:read", "post": "conversations:send"}

    def _channel(self) -> Channel:
        return cast(Channel, self.get_object())

    @extend_schema(responses={200: MessageOutput(many=True)}, summary="The number's messages, newest first")
    def get(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        messages: QuerySet[Message] = seed_channel_messages(access=_access(request), channel=self._channel())
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(MessageOutput(page, many=True).data)

    @extend_schema(request=InstanceMessageInput, examples=_MESSAGE_EXAMPLES, responses={
        201: MessageOutput,
        422: OpenApiResponse(Error, description="invalid_phone; nothing to send; media_url_refused; "
                                                "service_window_closed (OFFICIAL: the contact has not written in 24 "
                                                "hours, only a template may go)."),
    }, summary="Send a message to a phone number",
        description="The contact and the conversation are made when new (the contact's latest conversation on the "
                    "number that is not resolved is used otherwise); the message is sent as any reply is "
                    "(POST /api/v1/conversations/{id}/messages).")
    def post(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        channel = self._channel()
        data = InstanceMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        media_url = values["mediaUrl"].strip()
        content = (values["caption"] or values["text"]) if media_url else (values["text"] or values["caption"])
        message = seed_message_send(tenant=_access(request).tenant, actor=_actor(request), channel=channel,
                                    phone=values["contactPhone"], content=content, media_url=media_url)
        return Response(MessageOutput(message).data, status=status.HTTP_201_CREATED)


class WhatsAppHealthView(_SeedView):
    serializer_class = WhatsAppHealthOutput
    required_permissions = {"get": "channels:read"}

    @extend_schema(summary="WhatsApp's providers here, and the account's numbers' statuses")
    def get(self, request: Request) -> Response:
        return Response(WhatsAppHealthOutput({"providers": seed_providers(),
                                              "instances": seed_instances(access=_access(request))}).data)


# --- seed 004: /integrations/whatsapp (seed 000's views, under its paths and tag) ---------------


class IntegrationsView(InstancesView):
    seed_tag = SEED_004


class IntegrationView(InstanceView):
    seed_tag = SEED_004


class IntegrationConnectView(InstanceConnectView):
    seed_tag = SEED_004


class IntegrationStatusView(InstanceStatusView):
    seed_tag = SEED_004


# --- seed 001: /api/whatsapp/..., /api/conversations/{id}/send-message --------------------------


# Seed 001's account-wide WhatsApp number (integrations.seed_contracts.selectors).
class _ConnectionView(ApiView):

    schema = SeedSchema()
    seed_tag = SEED_001

    def number(self, request: Request, tenant_reference: str | None = None) -> Channel:
        access = _access(request)
        if tenant_reference is not None and not seed_tenant_is(access, tenant_reference):
            raise NotFoundError("No such account.")
        channel = seed_default_qr_channel(access=access)
        if channel is None:
            raise NotFoundError("This account has no WhatsApp number paired by QR code: POST /api/whatsapp/connect.")
        return channel


class ConnectView(_ConnectionView):
    required_permissions = {"post": "channels:manage"}

    @extend_schema(request=None, responses={200: ConnectOutput, **_CREATE_ERRORS},
                   summary="Pair the account's WhatsApp number by QR code",
                   description="The account's number paired by QR code (its oldest; one is created, named WhatsApp, "
                               "on this installation's connection service when there is none: 422 "
                               "pairing_service_not_configured when there is no such service), paired again "
                               "unless it is connected: the QR code to scan.")
    def post(self, request: Request) -> Response:
        access = _access(request)
        channel = seed_default_connect(tenant=access.tenant, actor=_actor(request),
                                       channel=seed_default_qr_channel(access=access))
        return Response(ConnectOutput(channel).data)


class ConnectionStatusView(_ConnectionView):
    required_permissions = {"get": "channels:read"}

    @extend_schema(responses={200: ConnectionStatusOutput}, summary="The account's WhatsApp number's status",
                   description="`tenantId`: your account's id or slug (another: 404).")
    def get(self, request: Request, **kwargs: str) -> Response:
        channel = self.number(request, kwargs["tenantId"])
        return Response(ConnectionStatusOutput(channel, context={
            "last_activity": seed_last_activity(channel=channel)}).data)


class DisconnectView(_ConnectionView):
    required_permissions = {"delete": "channels:manage"}

    @extend_schema(responses={200: DisconnectOutput, **_PAIRING_ERRORS},
                   summary="Log the account's WhatsApp number's phone out",
                   description="`tenantId`: your account's id or slug (another: 404).")
    def delete(self, request: Request, **kwargs: str) -> Response:
        channel = channel_disconnect(channel=self.number(request, kwargs["tenantId"]), actor=_actor(request))
        return Response(DisconnectOutput(channel).data)


class SendMessageView(ApiView):
    schema = SeedSchema()
    seed_tag = SEED_001
    rate_limit_scope = "messages"
    required_permissions = {"post": "conversations:send"}

    @extend_schema(request=SendMessageInput, responses={201: MessageOutput}, summary="Reply in a conversation",
                   examples=[OpenApiExample("Seed 001", request_only=True, value={"message": "Olá! Seu pedido saiu."})],
                   description="As POST /api/v1/conversations/{id}/messages with `content`.")
    def post(self, request: Request, id: uuid.UUID) -> Response:  # noqa: A002
        conversation = get_object_or_404(conversation_list(access=_access(request)), public_id=id)
        data = SendMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        message, _created = message_send(conversation=conversation, actor=_actor(request),
                                         content=values["message"] or values["content"])
        return Response(MessageOutput(message).data, status=status.HTTP_201_CREATED)
