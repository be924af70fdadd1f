from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from conversations.models import Attachment, CannedResponse, Conversation, Label, Message, Team
from tenants.admin import TenantChoiceForm, TenantScopedAdmin, TenantScopedInline


class TenantMembersForm(TenantChoiceForm):
    """Also refuses users who are not members of the row's tenant (assignee, team members...)."""

    user_fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        tenant_id = self.instance.tenant_id
        for name in self.user_fields:
            value = cleaned_data.get(name)
            if tenant_id is None or not value:
                continue
            user_ids = {user.pk for user in value} if isinstance(value, QuerySet) else {value.pk}
            members = set(
                Membership.all_objects.filter(tenant_id=tenant_id, user_id__in=user_ids).values_list("user_id", flat=True)
            )
            if user_ids - members:
                self.add_error(name, _("Only members of this tenant can be chosen."))
        return cleaned_data


class TeamForm(TenantMembersForm):
    user_fields = ("members",)


class ConversationForm(TenantMembersForm):
    user_fields = ("assignee",)


class MessageForm(TenantMembersForm):
    user_fields = ("sender_user",)


def _preview(text: str, length: int = 60) -> str:
    return Truncator(text).chars(length)


@admin.register(Team)
class TeamAdmin(TenantScopedAdmin):
    form = TeamForm
    list_display = ("name", "tenant", "member_count", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("tenant",)
    search_fields = ("name", "tenant__slug")
    autocomplete_fields = ("members",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(members_count=Count("members"))

    @admin.display(description=_("members"), ordering="members_count")
    def member_count(self, team: Team) -> int:
        return team.members_count  # type: ignore[attr-defined]


@admin.register(Label)
class LabelAdmin(TenantScopedAdmin):
    list_display = ("name", "swatch", "tenant", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("tenant",)
    search_fields = ("name", "tenant__slug")
    readonly_fields = ("created_at",)

    @admin.display(description=_("colour"), ordering="color")
    def swatch(self, label: Label) -> str:
        # An SVG's fill, not a style attribute: the Content-Security-Policy allows no inline style.
        return format_html(
            '<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{}"/></svg> {}',
            label.color, label.color,
        )


@admin.register(CannedResponse)
class CannedResponseAdmin(TenantScopedAdmin):
    list_display = ("__str__", "tenant", "content_preview", "updated_at")
    list_select_related = ("tenant",)
    list_filter = ("tenant",)
    search_fields = ("short_code", "content", "tenant__slug")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description=_("content"))
    def content_preview(self, response: CannedResponse) -> str:
        return _preview(response.content)


@admin.register(Conversation)
class ConversationAdmin(TenantScopedAdmin):
    form = ConversationForm
    list_display = ("__str__", "tenant", "channel", "contact", "status", "priority", "assignee", "team",
                    "unread_count", "last_activity_at")
    list_select_related = ("tenant", "channel", "contact", "assignee", "team")
    list_filter = ("status", "priority", "channel__kind", "tenant")
    # By the id the API and the inbox's URLs show (public_id) too, when a customer reports one.
    search_fields = ("id__exact", "=public_id", "contact__name", "contact__phone", "contact__email",
                     "last_message_preview")
    autocomplete_fields = ("channel", "contact", "assignee", "team", "labels")
    readonly_fields = ("public_id", "messages_link", "last_message_preview", "created_at", "updated_at")
    ordering = ("-last_activity_at", "-id")
    # The tables that grow: no COUNT(*) of the whole table on every page.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).defer("channel__credentials")

    @admin.display(description=_("messages"))
    def messages_link(self, conversation: Conversation) -> str:
        if conversation.pk is None:
            return "—"
        url = reverse("admin:conversations_message_changelist")
        return format_html('<a href="{}?conversation__id__exact={}">{}</a>', url, conversation.pk,
                           _("Messages of this conversation"))


class AttachmentInline(TenantScopedInline):
    model = Attachment
    fields = ("file", "external_url", "file_name", "content_type", "size", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Message)
class MessageAdmin(TenantScopedAdmin):
    form = MessageForm
    list_display = ("id", "created_at", "tenant", "conversation_link", "channel", "direction", "sender_type", "type",
                    "status", "private", "content_preview")
    list_display_links = ("id", "created_at")
    list_select_related = ("tenant", "channel")
    list_filter = ("direction", "status", "type", "sender_type", "private", "channel__kind", "tenant")
    search_fields = ("content", "=provider_message_id", "=external_id", "=public_id", "conversation__id__exact",
                     "=conversation__public_id")
    autocomplete_fields = ("conversation", "channel", "sender_user", "reply_to")
    readonly_fields = ("public_id", "updated_at")
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    inlines = (AttachmentInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).defer("channel__credentials")

    @admin.display(description=_("conversation"), ordering="conversation_id")
    def conversation_link(self, message: Message) -> str:
        # By id: no join, and one click to the conversation.
        url = reverse("admin:conversations_conversation_change", args=[message.conversation_id])
        return format_html('<a href="{}">#{}</a>', url, message.conversation_id)

    @admin.display(description=_("content"))
    def content_preview(self, message: Message) -> str:
        return _preview(message.content)


@admin.register(Attachment)
class AttachmentAdmin(TenantScopedAdmin):
    list_display = ("__str__", "message_link", "tenant", "content_type", "size", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("tenant",)
    search_fields = ("file_name", "content_type", "message__id__exact")
    autocomplete_fields = ("message",)
    readonly_fields = ("created_at",)
    show_full_result_count = False

    @admin.display(description=_("message"), ordering="message_id")
    def message_link(self, attachment: Attachment) -> str:
        url = reverse("admin:conversations_message_change", args=[attachment.message_id])
        return format_html('<a href="{}">{}</a>', url, attachment.message_id)
