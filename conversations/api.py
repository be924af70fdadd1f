"""/api/v1/conversations, /conversations/{id}/messages and /messages/{id}."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from accounts.access import TenantAccess
from accounts.models import User
from channels_app.api import KIND_HELP
from channels_app.models import Channel, MessageTemplate
from channels_app.selectors import channel_list
from config.api.filters import DateTimeFilter, UUIDFilter
from config.api.schema import Error
from config.api.serializers import (
    EmailOrEmptyField,
    JSONObjectField,
    PublicIdField,
    PublicIdInput,
    PublicIdRelatedField,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    canonical_uuid_or_none,
)
from config.api.views import ApiGenericView, ApiViewSet
from config.errors import ValidationFailed
from contacts.models import Contact
from contacts.selectors import contact_visible
from conversations.models import Conversation, Message, Team
from conversations.selectors import (
    conversation_list,
    conversation_search_ranked,
    message_deleted_content_visible,
    message_list,
    message_visible,
    ranked_page,
)
from conversations.services import (
    UNSET,
    conversation_create,
    conversation_update,
    message_react,
    message_retry,
    message_send,
    message_send_template,
    message_update,
)
from conversations.services.remote_files import remote_file_fetch

# --- Output --------------------------------------------------------------------------


class _ChannelBrief(serializers.ModelSerializer):
    id = PublicIdField()
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)

    class Meta:
        model = Channel
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class _ContactBrief(serializers.ModelSerializer):
    id = PublicIdField()
    email = EmailOrEmptyField(read_only=True, help_text="Empty when the contact has none.")

    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "email"]
        read_only_fields = fields


class UserBrief(serializers.ModelSerializer):
    id = PublicIdField()
    name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "name", "email"]
        read_only_fields = fields


class _TeamBrief(serializers.ModelSerializer):
    id = PublicIdField()

    class Meta:
        model = Team
        fields = ["id", "name"]
        read_only_fields = fields


class ConversationOutput(serializers.ModelSerializer):
    id = PublicIdField()
    channel = _ChannelBrief(read_only=True)
    contact = _ContactBrief(read_only=True)
    assignee = UserBrief(read_only=True, allow_null=True)
    team = _TeamBrief(read_only=True, allow_null=True)
    labels = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    service_window_closes_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="End of the 24-hour window after the contact's last message."
    )

    class Meta:
        model = Conversation
        fields = ["id", "status", "priority", "channel", "contact", "assignee", "team", "labels", "unread_count",
                  "last_message_preview", "last_activity_at", "last_inbound_at", "service_window_closes_at",
                  "snoozed_until", "created_at", "updated_at"]
        read_only_fields = fields


class AttachmentOutput(serializers.Serializer):
    id = PublicIdField()
    file_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment: Any) -> str:
        return attachment.file.url if attachment.file else attachment.external_url


class MessageError(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class MessageOutput(serializers.ModelSerializer):
    id = PublicIdField()
    conversation_id = PublicIdField(source="conversation.public_id")
    reply_to_id = PublicIdField(source="reply_to.public_id", allow_null=True,
                                help_text="The message of this conversation it answers, if any.")
    sender = UserBrief(source="sender_user", read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()
    attachments = AttachmentOutput(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "conversation_id", "direction", "sender_type", "sender", "type", "content",
                  "content_attributes", "metadata", "private", "status", "error", "provider_message_id", "external_id",
                  "reply_to_id", "attachments", "created_at", "updated_at", "sent_at", "delivered_at", "read_at",
                  "deleted_at"]
        read_only_fields = fields
        extra_kwargs = {"deleted_at": {"help_text": (
            "When its sender deleted it for everyone (null: it was not). Its content, content_attributes and "
            "attachments are then given to tenant admins only (empty for other roles).")}}

    def to_representation(self, instance: Message) -> dict[str, Any]:
        shown = super().to_representation(instance)
        if instance.deleted_at is not None and not message_deleted_content_visible(access=self.context.get("access")):
            shown.update(content="", content_attributes={}, attachments=[])
        return shown

    @extend_schema_field(MessageError(allow_null=True))
    def get_error(self, message: Message) -> dict[str, str] | None:
        if not (message.error_code or message.error_message):
            return None
        return {"code": message.error_code, "message": message.error_message}


# --- Input ---------------------------------------------------------------------------


class AccessScopedField(PublicIdRelatedField):
    """A public id resolved among what the requesting member may see: a foreign tenant's id
    is simply "does not exist"."""

    def __init__(self, *, model: Any, visible: Callable[[TenantAccess], QuerySet[Any]], **kwargs: Any) -> None:
        self.visible = visible
        super().__init__(name=model._meta.verbose_name,
                         queryset=model.all_objects if hasattr(model, "all_objects") else model.objects, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.visible(self.context["request"].auth)


def VisibleChannelField(**kwargs: Any) -> AccessScopedField:  # noqa: N802 - reads as a field class
    return AccessScopedField(model=Channel, visible=lambda access: channel_list(access=access), **kwargs)


def TenantContactField(**kwargs: Any) -> AccessScopedField:  # noqa: N802
    return AccessScopedField(model=Contact, visible=lambda access: contact_visible(access=access), **kwargs)


def TenantMemberField(**kwargs: Any) -> AccessScopedField:  # noqa: N802
    return AccessScopedField(
        model=User,
        visible=lambda access: User.objects.filter(memberships__tenant_id=access.tenant_id, is_active=True),
        **kwargs,
    )


def TenantTeamField(**kwargs: Any) -> AccessScopedField:  # noqa: N802
    return AccessScopedField(model=Team, visible=lambda access: Team.objects.all(), **kwargs)


class ConversationCreateInput(serializers.Serializer):
    channel_id = VisibleChannelField()
    contact_id = TenantContactField()
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    assignee_id = TenantMemberField(required=False, allow_null=True)
    team_id = TenantTeamField(required=False, allow_null=True)
    labels = serializers.ListField(child=StrictCharField(max_length=60), max_length=50, required=False)
    priority = serializers.ChoiceField(choices=Conversation.Priority.choices, required=False)


class ConversationUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    assignee_id = TenantMemberField(allow_null=True)
    team_id = TenantTeamField(allow_null=True)
    labels = serializers.ListField(child=StrictCharField(max_length=60), max_length=50,
                                   help_text="Label names; unknown names are created.")
    priority = serializers.ChoiceField(choices=Conversation.Priority.choices)
    snoozed_until = StrictDateTimeField(allow_null=True, required=False,
                                        help_text="With status SNOOZED: when it reopens.")


SENDABLE_TYPES = [("TEXT", "Text"), ("TEMPLATE", "Template"), ("INTERACTIVE", "Interactive"), ("REACTION", "Reaction")]


class TemplateInput(serializers.Serializer):
    name = StrictCharField(max_length=512)
    language = StrictCharField(max_length=16)
    parameters = serializers.ListField(child=StrictCharField(max_length=1024), max_length=20, default=list)


class MessageCreateInput(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=SENDABLE_TYPES, default="TEXT",
        help_text="TEMPLATE needs `template` (a synced, approved template of the channel; allowed outside the "
                  "24-hour window); INTERACTIVE needs `content_attributes.interactive` (the provider's buttons or "
                  "list object); REACTION reacts to `reply_to_id` with the emoji in `content` (\"\" takes it back), "
                  "on channels whose provider sends reactions (else 422 reactions_not_supported).")
    template = TemplateInput(required=False)
    content = StrictCharField(max_length=10_000, allow_blank=True, trim_whitespace=False, default="")
    private = StrictBooleanField(default=False, help_text="A private note, seen by agents only.")
    content_attributes = JSONObjectField(required=False, default=dict)
    metadata = JSONObjectField(required=False, default=dict)
    reply_to_id = PublicIdInput(required=False, allow_null=True,
                                help_text="The id of the message of this conversation it answers.")
    external_id = StrictCharField(max_length=255, required=False, allow_null=True,
                                  help_text="Your id for this message: a retry with the same id creates nothing.")
    media_url = StrictCharField(
        max_length=2048, required=False,
        help_text="A file to send with the reply (its `content` is the caption), fetched from this public http(s) "
                  "URL: no redirects, at most ATTACHMENT_MAX_BYTES, its type read from its bytes and checked "
                  "against the channel's (422 media_url_refused, with the reason).")


class MessageUpdateInput(serializers.Serializer):
    content = StrictCharField(max_length=10_000, allow_blank=True, trim_whitespace=False, required=False,
                              help_text="Private notes only.")
    metadata = JSONObjectField(required=False)


# --- Filters -------------------------------------------------------------------------


_STATUS_NAMES = "|".join([*(status.lower() for status in Conversation.Status.values), *Conversation.Status.values])
STATUS_FILTER_PATTERN = f"^(({_STATUS_NAMES})(,({_STATUS_NAMES}))*)?$"
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ASSIGNEE_FILTER_PATTERN = f"^(me|none|{_UUID})?$"


class ConversationFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(method="filter_status", help_text="One or more of open, pending, snoozed, "
                                       "resolved, comma-separated.")
    assignee = django_filters.CharFilter(method="filter_assignee", help_text="me, none, or a user id.")
    channel = UUIDFilter(field_name="channel__public_id", help_text="A channel id.")
    contact = UUIDFilter(field_name="contact__public_id", help_text="A contact id.")
    team = UUIDFilter(field_name="team__public_id", help_text="A team id.")
    label = django_filters.CharFilter(method="filter_label", help_text="A label name.")
    priority = django_filters.ChoiceFilter(choices=Conversation.Priority.choices)
    updated_since = DateTimeFilter(field_name="updated_at", lookup_expr="gte")
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Contact name, phone or email, or words of a message. The results are ranked: the "
                  "conversations of the contacts matched first, then those a message matches, each by last "
                  "activity; such a page's `previous` is null (follow `next`).")

    class Meta:
        model = Conversation
        fields: list[str] = []

    @extend_schema_field({"type": "string", "pattern": STATUS_FILTER_PATTERN})
    def filter_status(self, queryset: QuerySet[Conversation], name: str, value: str) -> QuerySet[Conversation]:
        if not re.fullmatch(STATUS_FILTER_PATTERN, value):
            raise serializers.ValidationError({"status": ["Use open, pending, snoozed or resolved, comma-separated."]})
        return queryset.filter(status__in={part.upper() for part in value.split(",")})

    @extend_schema_field({"type": "string", "pattern": ASSIGNEE_FILTER_PATTERN})
    def filter_assignee(self, queryset: QuerySet[Conversation], name: str, value: str) -> QuerySet[Conversation]:
        if value == "me":
            return queryset.filter(assignee_id=self.request.user.pk)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        user_id = canonical_uuid_or_none(value)
        if user_id is None:
            raise serializers.ValidationError({"assignee": ["Use me, none or a user id."]})
        return queryset.filter(assignee__public_id=user_id)

    def filter_label(self, queryset: QuerySet[Conversation], name: str, value: str) -> QuerySet[Conversation]:
        return queryset.filter(labels__name__iexact=value.strip())

    def filter_search(self, queryset: QuerySet[Conversation], name: str, value: str) -> QuerySet[Conversation]:
        # Read by the view, ranked (ConversationViewSet.list): the other filters apply here.
        return queryset


# --- Views ---------------------------------------------------------------------------


_SEARCH_CURSOR = re.compile(r"(\d{1,2}~)?[0-9T:.+-]{10,40}_[0-9a-f-]{36}")


def search_cursor_encode(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).decode()


def search_cursor_decode(value: str) -> str:
    """A ranked search's cursor as ranked_page reads it; one it did not give is a 400."""
    if not value:
        return ""
    try:
        cursor = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        cursor = ""
    if not _SEARCH_CURSOR.fullmatch(cursor):
        raise ValidationFailed("cursor: Invalid cursor.", details={"cursor": ["Invalid cursor."]})
    return cursor


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ConversationOutput
    filterset_class = ConversationFilter
    ordering = ("-last_activity_at", "-id")
    required_permissions = {
        "list": "conversations:read", "retrieve": "conversations:read", "create": "conversations:write",
        "update": "conversations:write", "partial_update": "conversations:write",
    }

    def get_queryset(self) -> QuerySet[Conversation]:
        if getattr(self, "swagger_fake_view", False):
            return Conversation.all_objects.none()
        return conversation_list(access=self.request.auth)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """With `search`, the inbox's ranked search (conversation_search_ranked) and a cursor of
        its own; otherwise the plain list."""
        text = request.query_params.get("search", "").replace("\x00", "").strip()[:200]
        if not text:
            return super().list(request, *args, **kwargs)
        size = self.paginator.get_page_size(request)
        after = search_cursor_decode(request.query_params.get("cursor", ""))
        ranks = conversation_search_ranked(self.filter_queryset(self.get_queryset()), access=request.auth, text=text)
        rows, cursor = ranked_page(ranks, after=after, size=size)
        following = (replace_query_param(request.build_absolute_uri(), "cursor", search_cursor_encode(cursor))
                     if cursor else None)
        return Response({"next": following, "previous": None,
                         "results": self.get_serializer(rows, many=True).data})

    @extend_schema(request=ConversationCreateInput, responses={201: ConversationOutput})
    def create(self, request: Request) -> Response:
        data = ConversationCreateInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        conversation = conversation_create(
            tenant_id=request.auth.tenant_id, actor=request.user, channel=values.pop("channel_id"),
            contact=values.pop("contact_id"), assignee=values.pop("assignee_id", None),
            team=values.pop("team_id", None), **values,
        )
        return Response(ConversationOutput(self.get_queryset().get(pk=conversation.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=ConversationUpdateInput, responses={200: ConversationOutput})
    def update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ConversationUpdateInput, responses={200: ConversationOutput})
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        conversation = self.get_object()
        data = ConversationUpdateInput(data=request.data, partial=partial, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        conversation_update(
            conversation=conversation, actor=request.user,
            status=values.get("status", UNSET), assignee=values.get("assignee_id", UNSET),
            team=values.get("team_id", UNSET), labels=values.get("labels", UNSET),
            priority=values.get("priority", UNSET), snoozed_until=values.get("snoozed_until", UNSET),
        )
        return Response(ConversationOutput(self.get_queryset().get(pk=conversation.pk)).data)


class ConversationMessagesView(ApiGenericView):
    """GET: the conversation's messages, newest first. POST: a reply (PENDING until the
    channel sends it) or a private note."""

    serializer_class = MessageOutput
    rate_limit_scope = "messages"
    ordering = ("-created_at", "-id")
    required_permissions = {"get": "conversations:read", "post": "conversations:send"}

    def _conversation(self) -> Conversation:
        return get_object_or_404(conversation_list(access=self.request.auth),
                                 public_id=self.kwargs["conversation_id"])

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.all_objects.none()
        return message_list(conversation=self._conversation())

    @extend_schema(responses={200: MessageOutput(many=True)}, summary="Messages of a conversation, newest first")
    def get(self, request: Request, conversation_id: uuid.UUID) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MessageOutput(page, many=True, context={"access": request.auth}).data)

    @extend_schema(request=MessageCreateInput, responses={
        201: MessageOutput, 200: OpenApiResponse(MessageOutput, description="A retry with the same external_id."),
        422: OpenApiResponse(Error, description="service_window_closed: the channel accepts only a template now."),
    })
    def post(self, request: Request, conversation_id: uuid.UUID) -> Response:
        conversation = self._conversation()
        data = MessageCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reply_to_id = values.pop("reply_to_id", None)
        reply_to = None
        if reply_to_id is not None:
            reply_to = Message.objects.filter(public_id=reply_to_id, conversation=conversation).first()
            if reply_to is None:
                raise ValidationFailed("reply_to_id: No such message in this conversation.",
                                       details={"reply_to_id": ["No such message in this conversation."]})
        kind = values.pop("type")
        template_input = values.pop("template", None)
        if kind == "REACTION":
            if reply_to is None:
                raise ValidationFailed("reply_to_id: A reaction names the message it reacts to.",
                                       details={"reply_to_id": ["A reaction names the message it reacts to."]})
            message, created = message_react(message=reply_to, actor=request.user, emoji=values["content"],
                                             external_id=values.get("external_id"))
        elif kind == "TEMPLATE":
            if template_input is None:
                raise ValidationFailed("template: Required for a TEMPLATE message.",
                                       details={"template": ["Required for a TEMPLATE message."]})
            template = MessageTemplate.objects.filter(channel_id=conversation.channel_id, name=template_input["name"],
                                                      language=template_input["language"]).first()
            if template is None:
                raise ValidationFailed("template: No such template on this channel (sync templates first).",
                                       details={"template": ["No such template on this channel (sync templates "
                                                             "first)."]})
            message, created = message_send_template(
                conversation=conversation, actor=request.user, template=template,
                parameters=template_input["parameters"], external_id=values.get("external_id"))
        else:
            if kind == "INTERACTIVE" and not isinstance(values["content_attributes"].get("interactive"), dict):
                raise ValidationFailed("content_attributes: INTERACTIVE needs an `interactive` object.",
                                       details={"content_attributes": ["INTERACTIVE needs an `interactive` object."]})
            media_url = values.pop("media_url", None)
            files = [remote_file_fetch(media_url, max_bytes=settings.ATTACHMENT_MAX_BYTES)] if media_url else None
            message, created = message_send(conversation=conversation, actor=request.user, reply_to=reply_to,
                                            message_type=kind, attachments=files, **values)
        return Response(MessageOutput(message).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MessageDetailView(ApiGenericView):
    serializer_class = MessageOutput
    rate_limit_scope = "messages"
    required_permissions = {"get": "conversations:read", "put": "conversations:send", "patch": "conversations:send"}

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.all_objects.none()
        return message_visible(access=self.request.auth)

    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(MessageOutput(self.get_object(), context={"access": request.auth}).data)

    @extend_schema(request=MessageUpdateInput, responses={200: MessageOutput})
    def put(self, request: Request, **kwargs: Any) -> Response:
        message = self.get_object()
        data = MessageUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_update(message=message, actor=request.user, content=data.validated_data.get("content", UNSET),
                                 metadata=data.validated_data.get("metadata", UNSET))
        return Response(MessageOutput(message, context={"access": request.auth}).data)

    @extend_schema(request=MessageUpdateInput, responses={200: MessageOutput})
    def patch(self, request: Request, **kwargs: Any) -> Response:
        return self.put(request, **kwargs)


class MessageRetryView(ApiGenericView):
    """POST: send a FAILED reply again (it goes back to PENDING)."""

    serializer_class = MessageOutput
    rate_limit_scope = "messages"
    required_permissions = {"post": "conversations:send"}

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.all_objects.none()
        return message_visible(access=self.request.auth)

    @extend_schema(request=None, responses={200: MessageOutput}, summary="Send a failed reply again")
    def post(self, request: Request, **kwargs: Any) -> Response:
        return Response(MessageOutput(message_retry(message=self.get_object(), actor=request.user),
                                      context={"access": request.auth}).data)
