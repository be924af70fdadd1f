"""/api/v1/alert-rules: the account's alert rules (administrators change them: alerts:write;
managers read them: alerts:read), each with its state (the incidents open now). Another
account's rule is a 404. What the rules mean: integrations.monitoring.alerts."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from channels_app.models import Channel
from config.api.schema import Error
from config.api.serializers import PublicIdField, PublicIdInput, StrictBooleanField, StrictIntegerField
from config.api.views import ApiViewSet
from config.errors import ValidationFailed
from integrations.models import AlertIncident, AlertRule
from integrations.monitoring.alert_rules import (
    UNSET,
    alert_rule_create,
    alert_rule_delete,
    alert_rule_list,
    alert_rule_update,
)
from integrations.monitoring.alerts import (
    MIN_ATTEMPTS_HIGH,
    MIN_ATTEMPTS_LOW,
    THRESHOLDS,
    WINDOW_HIGH,
    WINDOW_LOW,
)

READ, WRITE = "alerts:read", "alerts:write"
INVALID = OpenApiResponse(Error, description="A threshold out of its kind's range (percent: 1–100, hours: 1–720, "
                                             "minutes: 0–1440), a channel not of this account or given to a rule of another kind; "
                                             "`details` names the field.")
THRESHOLD_HIGH = max(spec.high for spec in THRESHOLDS.values())
THRESHOLD_HELP = ("`send_failure_rate`: percent of the sends that failed (default 20); `no_inbound`: hours without "
                  "a message received (default 6); `channel_disconnected`: minutes disconnected or in error before "
                  "it fires (default 5); `quota`: percent of the month's messages used (default 90); "
                  "`webhook_disabled`: none (0).")


class AlertIncidentOutput(serializers.ModelSerializer[AlertIncident]):
    id = PublicIdField()
    subject_kind = serializers.ChoiceField(choices=["channel", "webhook", "tenant"], read_only=True)
    subject = serializers.CharField(source="subject_label", read_only=True,
                                    help_text="What it was about: the channel's name, the endpoint's URL.")
    value = serializers.FloatField(read_only=True, allow_null=True,
                                   help_text="What was measured when it began (percent, hours or minutes).")

    class Meta:
        model = AlertIncident
        fields = ["id", "subject_kind", "subject", "value", "started_at", "resolved_at"]
        read_only_fields = fields


class AlertRuleOutput(serializers.ModelSerializer[AlertRule]):
    id = PublicIdField()
    kind = serializers.ChoiceField(choices=AlertRule.Kind.choices, read_only=True)
    threshold = serializers.IntegerField(read_only=True, help_text=THRESHOLD_HELP)
    channel_id = serializers.UUIDField(source="channel.public_id", read_only=True, allow_null=True,
                                       help_text="The one channel it watches; null: every channel.")
    firing = AlertIncidentOutput(source="open_incidents", many=True, read_only=True,
                                 help_text="The incidents open now (empty: the rule holds for nothing).")

    class Meta:
        model = AlertRule
        fields = ["id", "kind", "threshold", "window_minutes", "min_attempts", "channel_id", "is_active", "firing",
                  "created_at", "updated_at"]
        read_only_fields = fields


class AlertRuleInput(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=AlertRule.Kind.choices)
    threshold = StrictIntegerField(required=False, allow_null=True, min_value=0, max_value=THRESHOLD_HIGH,
                                   help_text=THRESHOLD_HELP)
    window_minutes = StrictIntegerField(required=False, allow_null=True, min_value=WINDOW_LOW, max_value=WINDOW_HIGH,
                                        help_text="send_failure_rate: over how many minutes (default 10).")
    min_attempts = StrictIntegerField(required=False, allow_null=True, min_value=MIN_ATTEMPTS_LOW,
                                      max_value=MIN_ATTEMPTS_HIGH,
                                      help_text="send_failure_rate: fires only from this many sends in the window "
                                                "(default 10).")
    channel_id = PublicIdInput(required=False, allow_null=True,
                               help_text="Channel kinds: watch this channel only (default: every channel).")
    is_active = StrictBooleanField(required=False, default=True)


class AlertRuleChange(AlertRuleInput):
    kind = None  # type: ignore[assignment]  # a rule's kind is not changed
    is_active = StrictBooleanField(required=False)


def _access(request: Request) -> TenantAccess:
    return cast(TenantAccess, request.auth)  # IsTenantMember let only a tenant's access through


def _channel(request: Request, values: dict[str, Any]) -> Any:
    if "channel_id" not in values:
        return UNSET
    if values["channel_id"] is None:
        return None
    channel = Channel.all_objects.filter(tenant_id=_access(request).tenant_id, archived_at__isnull=True,
                                         public_id=values["channel_id"]).first()
    if channel is None:
        raise ValidationFailed(f"No such channel in your account: {values['channel_id']}.",
                               details={"channel_id": ["No such channel in your account."]})
    return channel


@extend_schema_view(
    list=extend_schema(summary="The account's alert rules, with the incidents open now"),
    retrieve=extend_schema(summary="An alert rule"),
)
class AlertRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = AlertRuleOutput
    pagination_class = None  # a handful of rules
    required_permissions = {"list": READ, "retrieve": READ, "create": WRITE, "partial_update": WRITE,
                            "destroy": WRITE}

    def get_queryset(self) -> QuerySet[AlertRule]:
        if getattr(self, "swagger_fake_view", False):
            return AlertRule.all_objects.none()
        return alert_rule_list(tenant=_access(self.request).tenant)

    @extend_schema(request=AlertRuleInput, responses={201: AlertRuleOutput, 422: INVALID},
                   summary="Add an alert rule (left out: the kind's defaults)")
    def create(self, request: Request) -> Response:
        data = AlertRuleInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        channel = _channel(request, values)
        rule = alert_rule_create(tenant=_access(request).tenant, actor=_access(request).user, kind=values["kind"],
                                 threshold=values.get("threshold"), window_minutes=values.get("window_minutes"),
                                 min_attempts=values.get("min_attempts"),
                                 channel=None if channel is UNSET else channel, is_active=values["is_active"])
        return Response(AlertRuleOutput(self.get_queryset().get(pk=rule.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AlertRuleChange, responses={200: AlertRuleOutput, 422: INVALID},
                   summary="Change an alert rule (its open incidents close without a notice)")
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        rule = self.get_object()
        data = AlertRuleChange(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        changes = {name: values[name] for name in ("threshold", "window_minutes", "min_attempts", "is_active")
                   if name in values}
        alert_rule_update(tenant=_access(request).tenant, actor=_access(request).user, rule=rule, channel=_channel(request, values),
                          **changes)
        return Response(AlertRuleOutput(self.get_queryset().get(pk=rule.pk)).data)

    @extend_schema(responses={204: None}, summary="Delete an alert rule (and its incidents)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        alert_rule_delete(tenant=_access(request).tenant, actor=_access(request).user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
