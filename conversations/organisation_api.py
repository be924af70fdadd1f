"""/api/v1/teams, /api/v1/labels and /api/v1/canned-responses: how a tenant organises its inbox.
Every member reads them (agents use labels and canned responses); administrators and managers
change them (teams:write, labels:write, canned:write). A name or short code already taken is a
409 naming the field."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.api import KIND_HELP
from channels_app.models import Channel
from config.api.schema import Error
from config.api.serializers import PublicIdField, StrictCharField
from config.api.views import ApiViewSet
from conversations.api import AccessScopedField, TenantMemberField, UserBrief
from conversations.models import CannedResponse, Label, Team
from conversations.selectors import canned_response_list, label_list, team_list
from conversations.services import (
    UNSET,
    canned_response_create,
    canned_response_delete,
    canned_response_update,
    label_create,
    label_delete,
    label_update,
    team_create,
    team_delete,
    team_update,
)
from conversations.services.organisation import (
    CANNED_CONTENT_MAX,
    DEFAULT_LABEL_COLOUR,
    LABEL_NAME_MAX,
    SHORT_CODE_MAX,
    TEAM_NAME_MAX,
)

READ = "conversations:read"
CONFLICT = OpenApiResponse(Error, description="duplicate: the name (or short code) is taken in this account; "
                                              "`details` names the field.")
REFUSED = OpenApiResponse(Error, description="The input names something that is not in this account, or the "
                                             "account refuses it; `details` names the field.")
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}\Z"  # \Z: no newline after it (the schema says $)
SHORT_CODE_PATTERN = r"^/?[a-zA-Z0-9_-]+\Z"
TEAM_MEMBERS_MAX = 1000
TEAM_CHANNELS_MAX = 500


def _pattern_first(field: serializers.Field, pattern: str, message: str) -> None:
    """The field's own pattern, first among its validators: the schema states the first one (it
    implies the field is not blank)."""
    field.validators = [RegexValidator(pattern, message=message), *field.validators]


# --- Teams ------------------------------------------------------------------------------


class TeamChannel(serializers.ModelSerializer):
    id = PublicIdField()
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)

    class Meta:
        model = Channel
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class TeamOutput(serializers.ModelSerializer):
    id = PublicIdField()
    members = UserBrief(many=True, read_only=True)
    channels = TeamChannel(many=True, read_only=True, help_text="The channels this team works.")

    class Meta:
        model = Team
        fields = ["id", "name", "members", "channels", "created_at"]
        read_only_fields = fields


def _team_channel_field(**kwargs: Any) -> AccessScopedField:
    # Any active channel of the account (teams are managed by those who see every channel).
    return AccessScopedField(model=Channel, visible=lambda access: Channel.objects.filter(archived_at__isnull=True),
                             **kwargs)


class TeamInput(serializers.Serializer):
    name = StrictCharField(max_length=TEAM_NAME_MAX)
    # Lists, not DRF's many=True (which takes any iterable, an object's keys included).
    member_ids = serializers.ListField(
        child=TenantMemberField(), required=False, max_length=TEAM_MEMBERS_MAX,
        help_text="Ids of members of this account: the team's whole membership (replaces it on update).")
    channel_ids = serializers.ListField(
        child=_team_channel_field(), required=False, max_length=TEAM_CHANNELS_MAX,
        help_text="Ids of this account's channels the team works (replaces them on update).")


def _team_values(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": values.get("name", UNSET), "members": values.get("member_ids", UNSET),
            "channels": values.get("channel_ids", UNSET)}


@extend_schema_view(
    list=extend_schema(summary="The account's teams"),
    retrieve=extend_schema(summary="A team"),
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = TeamOutput
    ordering = ("name", "id")
    required_permissions = {
        "list": READ, "retrieve": READ, "create": "teams:write", "update": "teams:write",
        "partial_update": "teams:write", "destroy": "teams:write",
    }

    def get_queryset(self) -> QuerySet[Team]:
        if getattr(self, "swagger_fake_view", False):
            return Team.all_objects.none()
        return team_list(access=self.request.auth)

    @extend_schema(request=TeamInput, responses={201: TeamOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Create a team")
    def create(self, request: Request) -> Response:
        data = TeamInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = _team_values(data.validated_data)
        team = team_create(tenant=request.auth.tenant, actor=request.user, name=values["name"],
                           members=values["members"] if values["members"] is not UNSET else (),
                           channels=values["channels"] if values["channels"] is not UNSET else ())
        return Response(TeamOutput(self.get_queryset().get(pk=team.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TeamInput, responses={200: TeamOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Change a team (name, members, channels)")
    def update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=TeamInput, responses={200: TeamOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Change some of a team (name, members, channels)")
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        team = self.get_object()
        data = TeamInput(data=request.data, partial=partial, context={"request": request})
        data.is_valid(raise_exception=True)
        team_update(team=team, actor=request.user, **_team_values(data.validated_data))
        return Response(TeamOutput(self.get_queryset().get(pk=team.pk)).data)

    @extend_schema(responses={204: None}, summary="Delete a team (its conversations stay, with no team)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        team_delete(team=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Labels -----------------------------------------------------------------------------


class LabelOutput(serializers.ModelSerializer):
    id = PublicIdField()
    conversations_count = serializers.IntegerField(read_only=True,
                                                   help_text="How many of the account's conversations carry it.")

    class Meta:
        model = Label
        fields = ["id", "name", "color", "conversations_count", "created_at"]
        read_only_fields = fields


class LabelInput(serializers.Serializer):
    name = StrictCharField(max_length=LABEL_NAME_MAX)
    color = StrictCharField(max_length=7, required=False, trim_whitespace=False, help_text=f"#RRGGBB (default {DEFAULT_LABEL_COLOUR}).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _pattern_first(self.fields["color"], COLOUR_PATTERN, "Use a colour written as #RRGGBB, for example #2563eb.")


@extend_schema_view(
    list=extend_schema(summary="The account's labels"),
    retrieve=extend_schema(summary="A label"),
)
class LabelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = LabelOutput
    ordering = ("name", "id")
    required_permissions = {
        "list": READ, "retrieve": READ, "create": "labels:write", "update": "labels:write",
        "partial_update": "labels:write", "destroy": "labels:write",
    }

    def get_queryset(self) -> QuerySet[Label]:
        if getattr(self, "swagger_fake_view", False):
            return Label.all_objects.none()
        return label_list(access=self.request.auth)

    @extend_schema(request=LabelInput, responses={201: LabelOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Create a label")
    def create(self, request: Request) -> Response:
        data = LabelInput(data=request.data)
        data.is_valid(raise_exception=True)
        label = label_create(tenant=request.auth.tenant, actor=request.user, **data.validated_data)
        return Response(LabelOutput(self.get_queryset().get(pk=label.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LabelInput, responses={200: LabelOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Rename or recolour a label")
    def update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=LabelInput, responses={200: LabelOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Rename or recolour a label")
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        label = self.get_object()
        data = LabelInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        label_update(label=label, actor=request.user, name=data.validated_data.get("name", UNSET),
                     color=data.validated_data.get("color", UNSET))
        return Response(LabelOutput(self.get_queryset().get(pk=label.pk)).data)

    @extend_schema(responses={204: None}, summary="Delete a label (it is taken off its conversations)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        label_delete(label=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Canned responses ---------------------------------------------------------------------


class CannedResponseOutput(serializers.ModelSerializer):
    id = PublicIdField()

    class Meta:
        model = CannedResponse
        fields = ["id", "short_code", "content", "created_at", "updated_at"]
        read_only_fields = fields


class CannedResponseInput(serializers.Serializer):
    short_code = StrictCharField(max_length=SHORT_CODE_MAX + 1, trim_whitespace=False, help_text="Lowercase letters, digits, - and _ "
                                 "(a leading / is dropped; upper case is made lower). Unique in the account.")
    content = StrictCharField(max_length=CANNED_CONTENT_MAX)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _pattern_first(self.fields["short_code"], SHORT_CODE_PATTERN, "Lowercase letters, digits, - and _ only.")


@extend_schema_view(
    list=extend_schema(summary="The account's canned responses", parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, description="Text in the short code or the content.")]),
    retrieve=extend_schema(summary="A canned response"),
)
class CannedResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CannedResponseOutput
    ordering = ("short_code", "id")
    required_permissions = {
        "list": READ, "retrieve": READ, "create": "canned:write", "update": "canned:write",
        "partial_update": "canned:write", "destroy": "canned:write",
    }

    def get_queryset(self) -> QuerySet[CannedResponse]:
        if getattr(self, "swagger_fake_view", False):
            return CannedResponse.all_objects.none()
        search = self.request.query_params.get("q", "") if self.action == "list" else ""
        if "\x00" in search:
            raise serializers.ValidationError({"q": ["Null characters are not allowed."]})
        return canned_response_list(access=self.request.auth, search=search[:200])

    @extend_schema(request=CannedResponseInput, responses={201: CannedResponseOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Create a canned response")
    def create(self, request: Request) -> Response:
        data = CannedResponseInput(data=request.data)
        data.is_valid(raise_exception=True)
        response = canned_response_create(tenant=request.auth.tenant, actor=request.user, **data.validated_data)
        return Response(CannedResponseOutput(response).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CannedResponseInput, responses={200: CannedResponseOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Change a canned response")
    def update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=CannedResponseInput, responses={200: CannedResponseOutput, 409: CONFLICT, 422: REFUSED},
                   summary="Change some of a canned response")
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        response = self.get_object()
        data = CannedResponseInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        canned_response_update(response=response, actor=request.user,
                               short_code=data.validated_data.get("short_code", UNSET),
                               content=data.validated_data.get("content", UNSET))
        response.refresh_from_db()
        return Response(CannedResponseOutput(response).data)

    @extend_schema(responses={204: None}, summary="Delete a canned response")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        canned_response_delete(response=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

