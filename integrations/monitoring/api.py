"""GET /api/v1/integrations/health: the integrations health page's figures (integrations.
monitoring.figures), for members and keys that read the figures (analytics:read)."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from config.api.views import ApiView
from config.errors import ValidationFailed
from integrations.monitoring.figures import DEFAULT_PERIOD, PERIODS, SubjectHealth, integrations_health


class QuotaOutput(serializers.Serializer[Any]):
    used = serializers.IntegerField()
    limit = serializers.IntegerField(help_text="0: no limit.")
    percent = serializers.FloatField(allow_null=True)


class BucketOutput(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    received = serializers.IntegerField()
    attempted = serializers.IntegerField()
    failed = serializers.IntegerField()


class ErrorCountOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The provider's error code; for an endpoint `HTTP 500`, `no answer`...")
    count = serializers.IntegerField()


class SubjectHealthOutput(serializers.Serializer[SubjectHealth]):
    id = serializers.UUIDField(source="subject.public_id", help_text="The channel's or the endpoint's id.")
    name = serializers.CharField(source="subject.name")
    detail = serializers.CharField(source="subject.detail", help_text="The channel's kind, the endpoint's URL.")
    state = serializers.CharField(source="subject.state",
                                  help_text="A channel's status (connected, disconnected, error...); an endpoint's "
                                            "active, failing or disabled.")
    state_since = serializers.DateTimeField(source="subject.state_since", allow_null=True)
    healthy = serializers.BooleanField(source="subject.healthy")
    received = serializers.IntegerField(help_text="Messages in (channels).")
    attempted = serializers.IntegerField(help_text="Messages handed to the provider; deliveries tried (endpoints).")
    failed = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True, help_text="Percent of `attempted` that did not fail.")
    latency_ms = serializers.IntegerField(allow_null=True, help_text="Average time the provider or endpoint took.")
    last_received_at = serializers.DateTimeField(allow_null=True)
    error_codes = serializers.SerializerMethodField()
    daily_sends = QuotaOutput(allow_null=True, help_text="Sends today against the channel's daily cap, if set.")
    business_initiated = QuotaOutput(
        allow_null=True, help_text="Templates sent over the last 24 hours against the provider's daily limit of "
                                   "conversations the business starts (WhatsApp's messaging tier), where known.")
    buckets = BucketOutput(many=True)

    @extend_schema_field(ErrorCountOutput(many=True))
    def get_error_codes(self, health: SubjectHealth) -> list[dict[str, Any]]:
        return [{"code": code, "count": count} for code, count in health.errors]


class IntegrationsHealthOutput(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=list(PERIODS))
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bucket = serializers.ChoiceField(choices=["slot", "hour", "day"],
                                     help_text="`slot`: five minutes; days in the account's time zone.")
    plan = QuotaOutput(help_text="Messages this month against the plan.")
    channels = SubjectHealthOutput(many=True)
    webhooks = SubjectHealthOutput(many=True, help_text="Empty without webhooks:read.")


class IntegrationsHealthView(ApiView):
    required_permissions = {"get": "analytics:read"}

    @extend_schema(tags=["integrations"], responses={200: IntegrationsHealthOutput},
                   summary="Integrations health",
                   parameters=[OpenApiParameter("period", str, enum=list(PERIODS), default=DEFAULT_PERIOD)],
                   description="Per channel and webhook endpoint over the last hour, day or week: messages in and "
                               "out, failures by code, latency, last message in, connection state, and quotas.")
    def get(self, request: Request) -> Response:
        period = request.query_params.get("period", DEFAULT_PERIOD)
        if period not in PERIODS:
            raise ValidationFailed(f"period must be one of {', '.join(PERIODS)}.",
                                   details={"period": [f"Unknown period {period[:20]!r}."]})
        health = integrations_health(access=cast(TenantAccess, request.auth), period=period)
        return Response(IntegrationsHealthOutput(health).data)
