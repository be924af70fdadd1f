"""GET /api/v1/reports/overview: the reports page's figures (conversations.reports.figures), for
members and keys that read the figures (analytics:read). Times are in seconds."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from config.api.views import ApiView
from conversations.reports.figures import GROUPS, report_figures, report_filters_parse


class ReportTimesOutput(serializers.Serializer[Any]):
    resolved = serializers.IntegerField(help_text="Conversations resolved in the period (whose times these are).")
    first_response_median = serializers.FloatField(allow_null=True, help_text="Seconds; null: no reply.")
    first_response_p90 = serializers.FloatField(allow_null=True)
    resolution_median = serializers.FloatField(allow_null=True)
    resolution_p90 = serializers.FloatField(allow_null=True)


class ReportFiguresOutput(serializers.Serializer[Any]):
    opened = serializers.IntegerField(help_text="Conversations opened (a reopening counts).")
    resolved = serializers.IntegerField()
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField(help_text="Replies sent (private notes aside).")
    times = ReportTimesOutput()


class ReportBucketOutput(serializers.Serializer[Any]):
    start = serializers.DateTimeField(help_text="The day's, week's or month's start, in the account's time zone.")
    figures = ReportFiguresOutput()


class ReportRowOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField(allow_null=True,
                               help_text="The channel's, team's, member's or label's id; null for none or deleted.")
    name = serializers.CharField()
    figures = ReportFiguresOutput()


class ReportOutput(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Excluded.")
    time_zone = serializers.CharField()
    group = serializers.ChoiceField(choices=list(GROUPS), source="filters.group")
    totals = ReportFiguresOutput()
    series = ReportBucketOutput(many=True)
    channels = ReportRowOutput(many=True)
    teams = ReportRowOutput(many=True)
    agents = ReportRowOutput(many=True)
    labels = ReportRowOutput(many=True, help_text="By the labels the conversations carry now.")
    busiest_hours = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Messages in by weekday (Monday first) and hour (0-23), in the account's time zone.")


class ReportsOverviewView(ApiView):
    required_permissions = {"get": "analytics:read"}

    @extend_schema(tags=["reports"], responses={200: ReportOutput}, summary="Reports", parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD, the account's time zone); "
                                                  "default: 29 days before `to`."),
        OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, included; default: today."),
        OpenApiParameter("group", str, enum=list(GROUPS), default="day"),
        OpenApiParameter("channel", OpenApiTypes.UUID, description="A channel's id."),
        OpenApiParameter("team", OpenApiTypes.UUID, description="A team's id."),
        OpenApiParameter("agent", OpenApiTypes.UUID, description="A member's id."),
    ], description="Conversations opened and resolved, messages in and out, first response and resolution times "
                   "(median and 90th percentile, of the conversations resolved in the period) by day, week or "
                   "month, channel, team, agent and label, and the busiest hours. At most 366 days.")
    def get(self, request: Request) -> Response:
        access = cast(TenantAccess, request.auth)
        filters = report_filters_parse(access=access, params=request.query_params, blank_is_unset=False)
        return Response(ReportOutput(report_figures(access=access, filters=filters)).data)
