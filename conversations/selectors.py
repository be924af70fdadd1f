from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.access import TenantAccess
from channels_app.selectors import channel_ids_worked_by
from contacts.selectors import contact_search_q
from conversations.models import Conversation, Label, Message


def conversation_list(*, access: TenantAccess) -> QuerySet[Conversation]:
    """The conversations this member may see: all of the tenant's for managers and admins,
    those of the channels they work for agents and viewers."""
    conversations = Conversation.objects.select_related("contact", "channel", "assignee", "team").prefetch_related(
        Prefetch("labels", queryset=Label.all_objects.order_by("name"))
    )
    if not access.sees_all_channels:
        conversations = conversations.filter(channel_id__in=channel_ids_worked_by(access=access))
    return conversations


def conversation_search(queryset: QuerySet[Conversation], *, access: TenantAccess, text: str) -> QuerySet[Conversation]:
    """By the contact's name, phone or email, or by the text of a message."""
    text = text.strip()
    if not text:
        return queryset
    in_messages = Message.objects.filter(conversation_id=OuterRef("pk"), content__icontains=text)
    return queryset.filter(
        contact_search_q(tenant=access.tenant, text=text, prefix="contact__") | Q(Exists(in_messages))
    )


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(conversation=conversation).select_related("sender_user").prefetch_related(
        "attachments"
    )


def message_visible(*, access: TenantAccess) -> QuerySet[Message]:
    messages = Message.objects.select_related("sender_user", "conversation").prefetch_related("attachments")
    if not access.sees_all_channels:
        messages = messages.filter(channel_id__in=channel_ids_worked_by(access=access))
    return messages
