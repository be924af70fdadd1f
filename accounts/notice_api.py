"""/api/v1/notices: the requesting member's notices in the account (newest first), and marking
them read. Each member sees their own only; ids of anyone else's change nothing."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from accounts.models import Notice
from accounts.notices import notice_list, notices_mark_read
from config.api.serializers import PublicIdField, PublicIdInput
from config.api.views import ApiViewSet


class NoticeOutput(serializers.ModelSerializer[Notice]):
    id = PublicIdField()
    url = serializers.CharField(read_only=True, help_text="Where it points: a path of the product (may be empty).")

    class Meta:
        model = Notice
        fields = ["id", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class NoticesReadInput(serializers.Serializer[dict[str, Any]]):
    ids = serializers.ListField(child=PublicIdInput(), max_length=1000, required=False,
                                help_text="The notices to mark read; left out: all of them.")


class NoticesReadOutput(serializers.Serializer[dict[str, Any]]):
    marked = serializers.IntegerField(help_text="How many were unread.")


@extend_schema_view(list=extend_schema(summary="Your notices in this account, newest first"))
class NoticeViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = NoticeOutput
    # A member's own notices: every role reads and marks theirs; no API key does (it is no one's).
    required_permissions = {"list": "notices:read", "read": "notices:read"}

    def get_queryset(self) -> QuerySet[Notice]:
        if getattr(self, "swagger_fake_view", False):
            return Notice.all_objects.none()
        return notice_list(access=cast(TenantAccess, self.request.auth))

    @extend_schema(request=NoticesReadInput, responses={200: NoticesReadOutput}, summary="Mark notices read")
    def read(self, request: Request) -> Response:
        data = NoticesReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"marked": notices_mark_read(access=cast(TenantAccess, request.auth), ids=data.validated_data.get("ids"))})
