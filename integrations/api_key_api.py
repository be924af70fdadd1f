"""/api/v1/api-keys: the tenant's API keys. Administrators list, make and revoke them with a
JWT or their session (api_keys:write), never with a key: no key's scope includes it."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from accounts.api_keys import EXPIRY_MAX_DAYS, NAME_MAX, api_key_require_manager, api_key_revoke
from accounts.models import ApiKey
from config.api.serializers import PublicIdField, PublicIdInput, StrictCharField, StrictIntegerField
from config.api.views import ApiViewSet
from integrations.api_keys import api_key_make


def _access(request: Any) -> TenantAccess:
    return cast(TenantAccess, request.auth)  # IsTenantMember let only a tenant's access through


class ApiKeyOutput(serializers.ModelSerializer[ApiKey]):
    id = PublicIdField()
    prefix = serializers.CharField(read_only=True, help_text="The key's first characters, to recognise it.")
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices, read_only=True)
    channel_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True,
                                        help_text="The channels the key is limited to; empty: every channel.")
    created_by = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ApiKey.Status.choices, read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "channel_ids", "status", "created_by", "created_at", "expires_at",
                  "last_used_at", "revoked_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_created_by(self, api_key: ApiKey) -> str | None:
        return str(api_key.created_by.public_id) if api_key.created_by else None


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(read_only=True, help_text="The key itself: shown this once, never again.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateInput(serializers.Serializer[dict[str, Any]]):
    name = StrictCharField(max_length=NAME_MAX)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices,
                                    help_text="`read`: every read; `read_write`: also answer, change conversations "
                                              "and contacts.")
    channel_ids = serializers.ListField(child=PublicIdInput(), max_length=1000, required=False, default=list,
                                        help_text="Limit the key to these channels (default: every channel).")
    expires_in_days = StrictIntegerField(min_value=1, max_value=EXPIRY_MAX_DAYS, required=False,
                                               allow_null=True, default=None,
                                               help_text="Days until the key stops working (default: never).")


@extend_schema(tags=["api-keys"])
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Keys for integrators' systems, sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    The key is returned once, by the POST that makes it; only its prefix is shown after."""

    serializer_class = ApiKeyOutput
    ordering = ("-created_at", "-id")
    required_permissions = {"list": "api_keys:write", "retrieve": "api_keys:write", "create": "api_keys:write",
                            "destroy": "api_keys:write"}

    def get_queryset(self) -> QuerySet[ApiKey]:
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.all_objects.none()
        return ApiKey.all_objects.filter(tenant=_access(self.request).tenant).select_related("created_by")

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput},
                   summary="Make an API key (the response holds the key, once)")
    def create(self, request: Request) -> Response:
        access = _access(request)
        api_key_require_manager(access=access)
        data = ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = api_key_make(tenant=access.tenant, actor=access.user, **data.validated_data)
        output = ApiKeyOutput(created.api_key).data
        return Response({**output, "key": created.key}, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Revoke an API key (refused at once, 401 `api_key_revoked`)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        access = _access(request)
        api_key_require_manager(access=access)
        api_key_revoke(api_key=self.get_object(), actor=access.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
