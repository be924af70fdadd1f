"""/api/v1/channels: the tenant's connected inboxes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.kinds import kind_choices
from channels_app.models import Channel
from channels_app.selectors import channel_list
from channels_app.services import channel_archive, channel_create, channel_transport_change, channel_update
from config.api.serializers import NO_NUL_PATTERN, JSONObjectField, PublicIdField, StrictCharField
from config.api.views import ApiViewSet
from config.json_limits import json_has_nul

KIND_HELP = ("The channel's kind: one that this installation's providers serve (GET /api/health lists them), or, "
             "for a channel kept from before, one that none serves now.")


class ChannelOutput(serializers.ModelSerializer):
    id = PublicIdField()
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    webhook_url = serializers.CharField(read_only=True, help_text="Where the provider must send its events.")
    credential_keys = serializers.SerializerMethodField(
        help_text="Names of the stored secrets. Their values are never returned."
    )

    class Meta:
        model = Channel
        fields = ["id", "kind", "name", "status", "status_detail", "status_changed_at", "config", "credential_keys",
                  "webhook_url", "created_at", "updated_at"]
        read_only_fields = fields

    def get_credential_keys(self, channel: Channel) -> list[str]:
        return sorted(channel.credentials or {})


class ChannelStatusOutput(serializers.ModelSerializer):
    id = PublicIdField()

    class Meta:
        model = Channel
        fields = ["id", "status", "status_detail", "status_changed_at"]
        read_only_fields = fields


@extend_schema_field({"type": "object", "maxProperties": 100, "propertyNames": {"pattern": NO_NUL_PATTERN},
                      "additionalProperties": {"type": ["string", "null"], "maxLength": 4096}})
class CredentialsField(JSONObjectField):
    """Secrets by name: each a string (null removes it). A NUL character is refused, not dropped:
    a secret must stay what it is."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if json_has_nul(data):
            raise serializers.ValidationError("Null characters are not allowed.", code="null_characters")
        value = super().to_internal_value(data)
        for key, secret in value.items():
            if secret is not None and not isinstance(secret, str):
                raise serializers.ValidationError(f"{key}: a secret is a string (or null to remove it).")
            if secret is not None and len(secret) > 4096:
                raise serializers.ValidationError(f"{key}: too long.")
        return value


class KindField(serializers.ChoiceField):
    """The registered kinds as the schema's enum; any other kind's name is let through to the
    service, which refuses it with 422 channel_kind_not_available, naming it and the kinds
    there are (a kind is a fact of the installation, not of the request's shape)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not data or len(data) > 32:
            self.fail("invalid_choice", input=data)
        return data


class ChannelCreateInput(serializers.Serializer):
    kind = KindField(choices=[], help_text="One of the kinds this installation's providers serve (another: 422 "
                                           "channel_kind_not_available).")
    name = StrictCharField(max_length=120)
    config = JSONObjectField(required=False, default=dict)
    credentials = CredentialsField(required=False, default=dict, write_only=True,
                                   help_text="Secrets (tokens, passwords). Stored encrypted; never returned.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()  # the registered kinds (known once the apps are ready)


class ChannelUpdateInput(serializers.Serializer):
    name = StrictCharField(max_length=120)
    config = JSONObjectField()
    credentials = CredentialsField(
        required=False, write_only=True,
        help_text="Merged into the stored secrets: a key replaces, a key set to null removes, a missing key is kept.",
    )


class ChannelTransportInput(serializers.Serializer):
    kind = KindField(choices=[], help_text="Another kind of the same network (e.g. a number moving from a gateway paired "
                                           "by QR code to the Cloud API); another: 422 transport_incompatible.")
    config = JSONObjectField(required=False, default=dict)
    credentials = CredentialsField(required=False, default=dict, write_only=True,
                                   help_text="The new provider's secrets. Stored encrypted; never returned.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()


class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ChannelOutput
    pagination_class = None  # a tenant has a handful of channels
    required_permissions = {
        "list": "channels:read", "retrieve": "channels:read", "status": "channels:read",
        "create": "channels:manage", "update": "channels:manage", "partial_update": "channels:manage",
        "destroy": "channels:manage", "transport": "channels:manage",
    }

    def get_queryset(self) -> QuerySet[Channel]:
        if getattr(self, "swagger_fake_view", False):
            return Channel.all_objects.none()
        return channel_list(access=self.request.auth)

    @extend_schema(request=ChannelCreateInput, responses={201: ChannelOutput})
    def create(self, request: Request) -> Response:
        data = ChannelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        channel = channel_create(tenant=request.auth.tenant, actor=request.user, **data.validated_data)
        return Response(ChannelOutput(channel).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChannelUpdateInput, responses={200: ChannelOutput})
    def update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ChannelUpdateInput, responses={200: ChannelOutput})
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        channel = self.get_object()
        data = ChannelUpdateInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        channel = channel_update(channel=channel, actor=request.user, **data.validated_data)
        return Response(ChannelOutput(channel).data)

    @extend_schema(responses={204: None}, summary="Archive a channel (its conversations are kept)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        channel_archive(channel=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: ChannelStatusOutput}, summary="Connection status of a channel")
    @action(detail=True, methods=["get"])
    def status(self, request: Request, **kwargs: Any) -> Response:
        return Response(ChannelStatusOutput(self.get_object()).data)

    @extend_schema(request=ChannelTransportInput, responses={200: ChannelOutput},
                   summary="Move a channel to another provider of its network, keeping its history",
                   description="The number's contacts, conversations and messages stay on the channel; its kind, "
                               "settings and secrets are replaced once the new provider accepts them (422 when it "
                               "refuses them, or when the kind is not of the channel's network).")
    @action(detail=True, methods=["post"])
    def transport(self, request: Request, **kwargs: Any) -> Response:
        data = ChannelTransportInput(data=request.data)
        data.is_valid(raise_exception=True)
        channel = channel_transport_change(channel=self.get_object(), actor=request.user, **data.validated_data)
        return Response(ChannelOutput(channel).data)
