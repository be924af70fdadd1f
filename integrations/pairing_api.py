"""The pairing of a channel paired by QR code, through the API: its QR code (or pairing code)
and state, and the admin's actions: pair, disconnect, restart (integrations.pairing)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from channels_app.models import Channel
from channels_app.selectors import channel_list
from config.api.schema import Error
from config.api.serializers import StrictCharField
from config.api.views import ApiView
from config.errors import ValidationFailed
from contacts.phones import InvalidPhone, phone_normalize
from integrations.pairing import channel_disconnect, channel_pair, channel_restart, pairing_qr_png


class PairingOutput(serializers.Serializer[Channel]):
    channel_id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=Channel.Status.choices)
    status_detail = serializers.CharField()
    phone = serializers.SerializerMethodField(help_text="The number paired (E.164), once paired.")
    qr_code = serializers.SerializerMethodField(
        help_text="The QR code to scan with the phone, a data: URL of a PNG; null when none is waiting.")
    pairing_code = serializers.SerializerMethodField(
        help_text="The code to type on the phone instead of scanning (after pair with a phone); null otherwise.")
    updated_at = serializers.SerializerMethodField()

    def get_phone(self, channel: Channel) -> str | None:
        return channel.config.get("phone") or None

    def get_qr_code(self, channel: Channel) -> str | None:
        return pairing_qr_png(channel) or None

    def get_pairing_code(self, channel: Channel) -> str | None:
        return (channel.config.get("pairing") or {}).get("pairing_code") or None

    def get_updated_at(self, channel: Channel) -> str | None:
        return (channel.config.get("pairing") or {}).get("at") or None


class PairInput(serializers.Serializer[dict[str, Any]]):
    phone = StrictCharField(max_length=40, required=False, allow_blank=True, default="",
                            help_text="Pair by this phone's number instead of a scan: a code to type on it comes back.")


_ERRORS = {409: OpenApiResponse(Error, description="not_paired_by_qr: this channel's provider is not paired by QR code."),
           422: OpenApiResponse(Error, description="provider_refused: the provider refused it (its words)."),
           503: OpenApiResponse(Error, description="provider_unreachable: the provider could not be asked.")}


def _access(request: Request) -> TenantAccess:
    return cast(TenantAccess, request.auth)  # IsTenantMember let only a tenant's access through


class _PairingView(ApiView):
    def channel(self, request: Request, channel_id: uuid.UUID) -> Channel:
        return get_object_or_404(channel_list(access=_access(request)), public_id=channel_id)


class ChannelPairingView(_PairingView):
    required_permissions = {"get": "channels:read"}

    @extend_schema(tags=["channels"], responses={200: PairingOutput}, summary="A QR-paired channel's pairing",
                   description="Its state, and while it waits for a scan the QR code to show (refreshed by the "
                               "provider every few seconds: `channel.pairing_changed` events say when).")
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response(PairingOutput(self.channel(request, channel_id)).data)


class ChannelPairView(_PairingView):
    required_permissions = {"post": "channels:manage"}

    @extend_schema(tags=["channels"], request=PairInput, responses={200: PairingOutput, **_ERRORS},
                   summary="Pair a channel with a phone (QR code or pairing code)")
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        data = PairInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            phone = phone_normalize(data.validated_data["phone"], default_region=_access(request).tenant.default_country)
        except InvalidPhone:
            raise ValidationFailed("Not a phone number.", code="invalid_phone",
                                   details={"phone": ["Not a phone number."]}) from None
        channel = channel_pair(channel=self.channel(request, channel_id), phone=phone.lstrip("+"),
                               actor=_access(request).user)
        return Response(PairingOutput(channel).data)


class ChannelDisconnectView(_PairingView):
    required_permissions = {"post": "channels:manage"}

    @extend_schema(tags=["channels"], request=None, responses={200: PairingOutput, **_ERRORS},
                   summary="Log the paired phone out (the channel stays, to be paired again)")
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        channel = channel_disconnect(channel=self.channel(request, channel_id), actor=_access(request).user)
        return Response(PairingOutput(channel).data)


class ChannelRestartView(_PairingView):
    required_permissions = {"post": "channels:manage"}

    @extend_schema(tags=["channels"], request=None, responses={200: PairingOutput, **_ERRORS},
                   summary="Restart a QR-paired channel's connection")
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response(PairingOutput(channel_restart(channel=self.channel(request, channel_id))).data)
