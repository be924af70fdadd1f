"""The agent inbox: one page of three panes, and the fragments htmx and the live socket
swap into it. Each view parses, checks access, calls a selector or service, renders. URLs,
forms and the page name rows by their public ids."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.sessions import inbox_member_required, session_tenants
from channels_app.models import MessageTemplate
from channels_app.selectors import channel_list, channels_needing_attention
from config.errors import ApplicationError
from config.ids import uuid_or_none
from contacts.models import ContactIdentity
from contacts.selectors import contact_visible
from contacts.services import contact_update
from conversations.forms import SnoozeForm, snooze_format_hint
from conversations.models import Attachment, CannedResponse, Conversation, Label, Team
from conversations.realtime import latest_event_id
from conversations.selectors import (
    InboxFilters,
    attachment_file_visible,
    conversation_list,
    count_label,
    inbox_conversations,
    inbox_page,
    inbox_ranks,
    inbox_rows_mark_matches,
    inbox_tab_counts,
    inbox_unread_count,
    message_visible,
    thread_messages,
)
from conversations.services import (
    ATTACHMENT_RESPONSE_HEADERS,
    UNSET,
    attachment_file_kind,
    conversation_mark_read,
    conversation_update,
    message_react,
    message_retry,
    message_send,
    message_send_template,
)
from conversations.services.messages import MAX_REACTION_LENGTH

User = get_user_model()


def _conversation(request: HttpRequest, conversation_id: uuid.UUID) -> Conversation:
    return get_object_or_404(conversation_list(access=request.access), public_id=conversation_id)


def _public_id(value: str) -> uuid.UUID:
    """A public id a form sent; a malformed one names nothing (404)."""
    found = uuid_or_none(value)
    if found is None:
        raise Http404
    return found


def _error(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "inbox/_error.html", {"message": message}, status=status)


_DENIED = {
    "conversations:send": gettext_lazy("Your role does not allow sending messages."),
    "conversations:write": gettext_lazy("Your role does not allow changing conversations."),
    "contacts:write": gettext_lazy("Your role does not allow editing contacts."),
}


def _refused(request: HttpRequest, permission: str) -> HttpResponse | None:
    """The inbox's answer when the member's role lacks `permission` (None when it has it)."""
    return None if request.access.has(permission) else _error(request, str(_DENIED[permission]), 403)


def _thread_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    messages, has_older = thread_messages(conversation=conversation)
    access = request.access
    return {
        "conversation": conversation, "messages": messages, "has_older": has_older,
        "assignees": User.objects.filter(memberships__tenant_id=access.tenant_id, memberships__is_active=True,
                                         memberships__role__in=["TENANT_ADMIN", "MANAGER", "AGENT"]).order_by("full_name"),
        "teams": Team.objects.all(), "labels": Label.objects.all(),
        "statuses": Conversation.Status, "priorities": Conversation.Priority.choices,
        "snooze_presets": SnoozeForm.PRESETS, "snooze_format": snooze_format_hint(),
        "can_send": access.has("conversations:send"), "can_write": access.has("conversations:write"),
        # (their labels are not shown)
        "previous_conversations": conversation_list(access=access).prefetch_related(None).filter(
            contact_id=conversation.contact_id).exclude(pk=conversation.pk)[:5],
        "templates": [] if conversation.service_window_open else list(
            MessageTemplate.objects.filter(channel_id=conversation.channel_id, status="APPROVED")),
    }


def _contact_identities_read(conversation: Conversation) -> None:
    """The contact's addresses with their channels, in one query (the thread's contact panel
    names each one's channel)."""
    prefetch_related_objects([conversation.contact], Prefetch(
        "identities", queryset=ContactIdentity.objects.select_related("channel").defer("channel__credentials")))


@require_GET
@inbox_member_required
def inbox(request: HttpRequest, conversation_id: uuid.UUID | None = None) -> HttpResponse:
    access = request.access
    filters = InboxFilters.from_query(request.GET)
    rows, cursor = inbox_page(inbox_ranks(access=access, filters=filters))
    inbox_rows_mark_matches(rows, access=access, text=filters.search)
    channels = list(channel_list(access=access))
    context: dict[str, Any] = {
        "filters": filters, "rows": rows, "cursor": cursor,
        "tab_counts": inbox_tab_counts(access=access, filters=filters),
        "channels": channels, "labels": Label.objects.all(), "teams": Team.objects.all(),
        "can_manage_channels": access.has("channels:manage"),
        "role_label": Role(access.role).label,
        # Channels an admin must look at (a phone logged out, a token refused): above the panes.
        "channels_needing_attention": channels_needing_attention(access=access),
        "tenants": session_tenants(user=request.user), "access": access,
        "unread_count": count_label(inbox_unread_count(access=access)),
        "last_event_id": latest_event_id(tenant_id=access.tenant_id),
        "canned_responses": list(CannedResponse.objects.values("short_code", "content")),
    }
    if conversation_id is not None:
        conversation = _conversation(request, conversation_id)
        conversation_mark_read(conversation=conversation, actor=request.user)
        _contact_identities_read(conversation)
        context.update(_thread_context(request, conversation))
    return render(request, "inbox/page.html", context)


@require_GET
@inbox_member_required
def channel_banners(request: HttpRequest) -> HttpResponse:
    """The banners above the inbox, redrawn when a channel's status changes."""
    return render(request, "inbox/_banners.html",
                  {"channels_needing_attention": channels_needing_attention(access=request.access)})


@require_GET
@inbox_member_required
def conversation_rows(request: HttpRequest) -> HttpResponse:
    filters = InboxFilters.from_query(request.GET)
    after = request.GET.get("after", "")[:80]
    rows, cursor = inbox_page(inbox_ranks(access=request.access, filters=filters), after=after)
    inbox_rows_mark_matches(rows, access=request.access, text=filters.search)
    context = {"rows": rows, "cursor": cursor, "filters": filters}
    response = render(request, "inbox/_rows.html", context)
    if not after:  # a new list (its tabs' counts are asked for by the page, on /inbox/counts/)
        response["HX-Push-Url"] = f"/inbox/?{filters.querystring}"
    return response


@require_GET
@inbox_member_required
def tab_counts(request: HttpRequest) -> JsonResponse:
    """The tabs' counts with the list's filters, redrawn after what changes them (an agent's
    action, a conversation arriving live)."""
    return JsonResponse(inbox_tab_counts(access=request.access, filters=InboxFilters.from_query(request.GET)))


@require_GET
@inbox_member_required
def conversation_row(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """One row as the current filters show it; empty (204) when the conversation does not
    belong in the list any more (resolved, assigned away...)."""
    filters = InboxFilters.from_query(request.GET)
    conversation = inbox_conversations(access=request.access, filters=filters).filter(
        public_id=conversation_id).first()
    if conversation is None:
        return HttpResponse(status=204)
    return render(request, "inbox/_row.html", {"conversation": conversation, "filters": filters})


@require_GET
@inbox_member_required
def thread(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    conversation_mark_read(conversation=conversation, actor=request.user)
    _contact_identities_read(conversation)
    return render(request, "inbox/_thread.html", _thread_context(request, conversation))


@require_GET
@inbox_member_required
def older_messages(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    messages, has_older = thread_messages(conversation=conversation, before=uuid_or_none(request.GET.get("before")))
    return render(request, "inbox/_messages.html",
                  {"conversation": conversation, "messages": messages, "has_older": has_older})


@require_GET
@inbox_member_required
def message_bubble(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    message = get_object_or_404(message_visible(access=request.access), public_id=message_id)
    return render(request, "inbox/_bubble.html", {"message": message})


@require_GET
@inbox_member_required
def thread_header(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    return render(request, "inbox/_thread_header.html", _thread_context(request, _conversation(request, conversation_id)))


@require_POST
@inbox_member_required
def reply(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    if (refused := _refused(request, "conversations:send")) is not None:
        return refused
    private = request.POST.get("private") == "1"
    try:
        message, _created = message_send(
            conversation=conversation, actor=request.user, content=request.POST.get("content", "")[:10_001],
            private=private, attachments=request.FILES.getlist("attachments")[:10],
        )
    except ApplicationError as error:
        return _error(request, error.message, error.status_code)
    return render(request, "inbox/_bubble.html", {"message": message})


@require_POST
@inbox_member_required
def send_template(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    if (refused := _refused(request, "conversations:send")) is not None:
        return refused
    template_id = uuid_or_none(request.POST.get("template"))
    template = MessageTemplate.objects.filter(channel_id=conversation.channel_id, public_id=template_id).first() \
        if template_id is not None else None
    if template is None:
        return _error(request, _("Choose a template."))
    try:
        message, _created = message_send_template(
            conversation=conversation, actor=request.user, template=template,
            parameters=request.POST.getlist("parameters")[: template.parameter_count])
    except ApplicationError as error:
        return _error(request, error.message, error.status_code)
    return render(request, "inbox/_bubble.html", {"message": message})


@require_POST
@inbox_member_required
def conversation_action(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    if (refused := _refused(request, "conversations:write")) is not None:
        return refused
    post = request.POST
    changes: dict[str, Any] = {}
    try:
        if "status" in post:
            changes["status"] = post["status"] if post["status"] in Conversation.Status.values else UNSET
        if "snooze" in post or "snoozed_until" in post:
            snooze = SnoozeForm(post)
            if not snooze.is_valid():
                return _error(request, snooze.error_message())
            changes["snoozed_until"] = snooze.cleaned_data["until"]
            changes.setdefault("status", Conversation.Status.SNOOZED)
        if "assignee" in post:  # empty: unassigned
            changes["assignee"] = get_object_or_404(
                User.objects.filter(memberships__tenant_id=request.access.tenant_id),
                public_id=_public_id(post["assignee"])) if post["assignee"] else None
        if "team" in post:  # empty: no team
            changes["team"] = get_object_or_404(Team.objects.all(), public_id=_public_id(post["team"])) \
                if post["team"] else None
        if "priority" in post and post["priority"] in Conversation.Priority.values:
            changes["priority"] = post["priority"]
        if "labels" in post:
            changes["labels"] = [name for name in post.getlist("labels") if name.strip()][:50]
        conversation_update(conversation=conversation, actor=request.user, **changes)
    except ApplicationError as error:
        return _error(request, error.message)
    return render(request, "inbox/_thread_header.html", _thread_context(request, _conversation(request, conversation_id)))


@inbox_member_required
def contact_panel(request: HttpRequest, contact_id: uuid.UUID) -> HttpResponse:
    contact = get_object_or_404(contact_visible(access=request.access).prefetch_related("identities__channel"),
                                public_id=contact_id)
    error = ""
    if request.method == "POST":
        if (refused := _refused(request, "contacts:write")) is not None:
            return refused
        try:
            contact = contact_update(contact=contact, actor=request.user,
                                     **{field: request.POST.get(field, "")[:200] for field in ("name", "phone", "email")})
        except ApplicationError as failure:
            error = failure.message
    conversations = conversation_list(access=request.access).filter(contact=contact)[:10]
    return render(request, "inbox/_contact.html", {"contact": contact, "conversations": conversations,
                                                   "error": error, "editing": bool(error)},
                  status=400 if error else 200)


@require_POST
@inbox_member_required
def retry_message(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    message = get_object_or_404(message_visible(access=request.access), public_id=message_id)
    if (refused := _refused(request, "conversations:send")) is not None:
        return refused
    try:
        message = message_retry(message=message, actor=request.user)
    except ApplicationError as error:
        return _error(request, error.message)
    return render(request, "inbox/_bubble.html", {"message": message})


@require_POST
@inbox_member_required
def react(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    """An agent's reaction to a message of the thread (its bubble joins the thread)."""
    message = get_object_or_404(message_visible(access=request.access), public_id=message_id)
    if (refused := _refused(request, "conversations:send")) is not None:
        return refused
    try:
        reaction, _created = message_react(message=message, actor=request.user,
                                           emoji=request.POST.get("emoji", "")[:MAX_REACTION_LENGTH + 1])
    except ApplicationError as error:
        return _error(request, error.message, error.status_code)
    return render(request, "inbox/_bubble.html", {"message": reaction})


@require_POST
@inbox_member_required
def mark_read(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation_mark_read(conversation=_conversation(request, conversation_id), actor=request.user)
    return HttpResponse(status=204)


@require_GET
@inbox_member_required
def unread_count(request: HttpRequest) -> JsonResponse:
    unread = inbox_unread_count(access=request.access)
    return JsonResponse({"unread": unread, "label": count_label(unread)})


@require_GET
@inbox_member_required
def attachment(request: HttpRequest, attachment_id: uuid.UUID) -> FileResponse:
    """A file as its bytes are (not as it was declared, even before types were detected):
    inline only when passive, otherwise a download; never sniffed, never scripted."""
    item = get_object_or_404(Attachment.objects.select_related("message"), public_id=attachment_id)
    if not attachment_file_visible(access=request.access, message_id=item.message_id) or not item.file:
        raise Http404
    try:
        file = item.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    kind = attachment_file_kind(file, declared=item.content_type)
    response = FileResponse(file, as_attachment=not kind.inline, filename=item.file_name or f"file.{kind.extension}",
                            content_type=kind.content_type)
    for header, value in ATTACHMENT_RESPONSE_HEADERS.items():
        response[header] = value
    return response
