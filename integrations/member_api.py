"""/api/v1/members and /api/v1/invitations: the tenant's members (role, active, the channels
they work) and its invitations. Reading needs users:read (administrators and managers),
changing users:write (administrators); the rules (no role above one's own, never without an
administrator, the plan's seats) are the services'."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import TenantAccess
from accounts.invitations import invitation_resend, invitation_revoke
from accounts.member_filters import InvitationFilter, MemberFilter
from accounts.models import Invitation, Membership, Role
from accounts.selectors import invitation_list, member_list
from accounts.services import TENANT_ROLES, membership_remove, membership_update
from config.api.serializers import PublicIdField, PublicIdInput, StrictBooleanField, StrictEmailField
from config.api.views import ApiViewSet
from integrations.members import (
    member_channels_replace,
    member_invite,
    members_channel_ids,
    members_teams,
    tenant_channels,
)


def _access(request: Any) -> TenantAccess:
    return cast(TenantAccess, request.auth)  # IsTenantMember let only a tenant's access through


ROLE_CHOICES = [(role.value, role.label) for role in TENANT_ROLES]
ROLE_HELP = "`TENANT_ADMIN` (administrator), `MANAGER`, `AGENT` or `VIEWER`; never above the caller's own."


class TeamRef(serializers.Serializer[dict[str, str]]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class MemberOutput(serializers.ModelSerializer[Membership]):
    id = serializers.UUIDField(source="user.public_id", read_only=True, help_text="The member's user id.")
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.full_name", read_only=True)
    role = serializers.ChoiceField(choices=[(role.value, role.label) for role in Role], read_only=True)
    is_active = serializers.BooleanField(read_only=True, help_text="False: deactivated (no access at all).")
    deactivated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_login = serializers.DateTimeField(source="user.last_login", read_only=True, allow_null=True)
    two_factor = serializers.BooleanField(read_only=True, help_text="Whether they log in with a code too.")
    sees_all_channels = serializers.SerializerMethodField(
        help_text="Administrators and managers see every channel; agents and viewers only `channel_ids`.")
    channel_ids = serializers.SerializerMethodField(help_text="The channels they were given.")
    teams = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "is_active", "deactivated_at", "last_login", "two_factor",
                  "sees_all_channels", "channel_ids", "teams", "created_at"]
        read_only_fields = fields

    def get_sees_all_channels(self, membership: Membership) -> bool:
        return membership.role not in (Role.AGENT, Role.VIEWER)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_channel_ids(self, membership: Membership) -> list[str]:
        channels = self.context["channels"]
        return sorted(str(channels[pk]) for pk in self.context["channel_ids"].get(membership.user_id, ()) if pk in channels)

    @extend_schema_field(TeamRef(many=True))
    def get_teams(self, membership: Membership) -> list[dict[str, str]]:
        return [{"id": str(team.public_id), "name": team.name}
                for team in self.context["teams"].get(membership.user_id, [])]


class MemberUpdateInput(serializers.Serializer[dict[str, Any]]):
    role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False, help_text=ROLE_HELP)
    is_active = StrictBooleanField(
        required=False, help_text="false deactivates (sessions and tokens refused at once, open conversations "
                                  "unassigned); true reactivates (takes a seat of the plan again).")


class MemberChannelsInput(serializers.Serializer[dict[str, Any]]):
    channel_ids = serializers.ListField(child=PublicIdInput(), max_length=1000, allow_empty=True,
                                        help_text="Exactly the channels the member works from now on.")


@extend_schema(tags=["members"])
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The tenant's members. `{id}` is the member's user id."""

    serializer_class = MemberOutput
    filterset_class = MemberFilter
    lookup_field = "user__public_id"
    ordering = ("created_at", "id")
    required_permissions = {"list": "users:read", "retrieve": "users:read", "partial_update": "users:write",
                            "destroy": "users:write", "channels": "users:write"}

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.all_objects.none()
        return member_list(tenant=_access(self.request).tenant).order_by()

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if getattr(self, "swagger_fake_view", False):
            return context
        tenant = _access(self.request).tenant
        context["channels"] = {channel.pk: channel.public_id for channel in tenant_channels(tenant=tenant)}
        # Every member's of the tenant: two queries whatever the page's size.
        users = member_list(tenant=tenant).values_list("user_id", flat=True)
        context["channel_ids"] = members_channel_ids(tenant=tenant, user_ids=users)
        context["teams"] = members_teams(tenant=tenant, user_ids=users)
        return context

    def _output(self, membership: Membership) -> Response:
        found = self.get_queryset().get(pk=membership.pk)
        return Response(MemberOutput(found, context=self.get_serializer_context()).data)

    @extend_schema(request=MemberUpdateInput, responses={200: MemberOutput},
                   summary="Change a member's role, or deactivate / reactivate them")
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        membership = self.get_object()
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership_update(membership=membership, actor=_access(request).user, role=data.validated_data.get("role"),
                          is_active=data.validated_data.get("is_active"))
        return self._output(membership)

    @extend_schema(responses={204: None}, summary="Remove a member from the account",
                   description="For good: their channels and teams go, their open conversations go back to the queue "
                               "(409 `last_administrator` for the account's last active administrator). To stop "
                               "their access for a while, deactivate them instead (PATCH `is_active`).")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        membership_remove(membership=self.get_object(), actor=_access(request).user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=MemberChannelsInput, responses={200: MemberOutput},
                   summary="Set the channels an agent or viewer works",
                   description="Administrators and managers see every channel whatever is set here.")
    @action(detail=True, methods=["put"])
    def channels(self, request: Request, **kwargs: Any) -> Response:
        membership = self.get_object()
        data = MemberChannelsInput(data=request.data)
        data.is_valid(raise_exception=True)
        member_channels_replace(membership=membership, channel_ids=data.validated_data["channel_ids"],
                                actor=_access(request).user)
        return self._output(membership)


class InvitationOutput(serializers.ModelSerializer[Invitation]):
    id = PublicIdField()
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.SerializerMethodField()
    channel_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)
    team_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "channel_ids", "team_ids", "invited_by", "created_at", "sent_at",
                  "expires_at", "accepted_at", "revoked_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_invited_by(self, invitation: Invitation) -> str | None:
        return str(invitation.invited_by.public_id) if invitation.invited_by else None


class InvitationCreateInput(serializers.Serializer[dict[str, Any]]):
    email = StrictEmailField(max_length=254)
    role = serializers.ChoiceField(choices=ROLE_CHOICES, help_text=ROLE_HELP)
    channel_ids = serializers.ListField(child=PublicIdInput(), max_length=1000, required=False, default=list,
                                        help_text="Channels an agent or viewer gets on accepting.")
    team_ids = serializers.ListField(child=PublicIdInput(), max_length=1000, required=False, default=list,
                                     help_text="Teams they join on accepting.")


@extend_schema(tags=["members"])
class InvitationViewSet(mixins.ListModelMixin, ApiViewSet):
    """Invitations to join the tenant, sent by email: a link that works once, for
    INVITATION_DAYS days (7 by default). A pending invitation takes a seat of the plan."""

    serializer_class = InvitationOutput
    filterset_class = InvitationFilter
    ordering = ("-created_at", "-id")
    required_permissions = {"list": "users:read", "create": "users:write", "destroy": "users:write",
                            "resend": "users:write"}

    def get_queryset(self) -> QuerySet[Invitation]:
        if getattr(self, "swagger_fake_view", False):
            return Invitation.all_objects.none()
        return invitation_list(tenant=_access(self.request).tenant)

    @extend_schema(request=InvitationCreateInput, responses={201: InvitationOutput}, summary="Invite someone by email")
    def create(self, request: Request) -> Response:
        data = InvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = member_invite(tenant=_access(request).tenant, actor=_access(request).user, **data.validated_data)
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Revoke an invitation (its link stops working)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        invitation_revoke(invitation=self.get_object(), actor=_access(request).user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: InvitationOutput},
                   summary="Send an invitation again (a new link, valid from now; the old one stops working)")
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, **kwargs: Any) -> Response:
        invitation = invitation_resend(invitation=self.get_object(), actor=_access(request).user)
        return Response(InvitationOutput(invitation).data)
