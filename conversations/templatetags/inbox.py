from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from accounts.access import TenantAccess
from channels_app.kinds import kind_of
from conversations.selectors import message_deleted_content_visible
from conversations.services import attachment_family as _attachment_family
from conversations.services import failure_text as _failure_text
from conversations.services import send_problem as _send_problem

register = template.Library()

_DELIVERY = {
    "PENDING": ("◷", _("Pending")), "QUEUED": ("◷", _("Queued")), "SENT": ("✓", _("Sent")),
    "DELIVERED": ("✓✓", _("Delivered")), "READ": ("✓✓", _("Read")), "FAILED": ("⚠", _("Failed")),
}


@register.filter
def channel_icon(kind: str) -> str:
    """A kind's short text badge (the same on every system, emoji fonts or not)."""
    return kind_of(kind).badge


@register.filter
def channel_option(channel: Any) -> str:
    """A channel in a list of names (a select's option, where no icon fits): its kind's badge
    before its name, unless the name already says it ("API" before "API de integração")."""
    badge = kind_of(channel.kind).badge
    return channel.name if badge.casefold() in channel.name.casefold() else f"{badge} {channel.name}"


@register.filter
def delivery_icon(status: str) -> str:
    return _DELIVERY.get(status, ("", ""))[0]


@register.filter
def delivery_label(status: str) -> str:
    return str(_DELIVERY.get(status, ("", status))[1])


@register.filter
def attachment_family(content_type: str) -> str:
    """How the thread shows a file of this type: "image", "audio", "video", or "file" (a download)."""
    return _attachment_family(content_type or "")


@register.filter
def failure_text(message: Any) -> str:
    """A failed message's error, in the reader's language when it is ours."""
    return _failure_text(error_code=message.error_code, error_message=message.error_message)


@register.filter
def send_problem(message: Any) -> dict[str, str]:
    """Why a reply is not out (failed, or waiting to be tried again): a sentence in the reader's
    language and the technical detail behind it."""
    explanation, detail = _send_problem(error_code=message.error_code, error_message=message.error_message)
    return {"explanation": explanation, "detail": detail}


@register.filter
def deleted_content_visible(access: TenantAccess | None) -> bool:
    """Whether this member may read what a message deleted for everyone said."""
    return message_deleted_content_visible(access=access)


# The reactions an agent picks from in the thread (any emoji goes through the API).
REACTION_CHOICES = ("👍", "❤️", "😂", "😮", "😢", "🙏")


@register.filter
def may(access: TenantAccess | None, permission: str) -> bool:
    """Whether the member's role grants `permission` (what to show them: the view decides)."""
    return access is not None and access.has(permission)


@register.simple_tag
def reaction_choices() -> tuple[str, ...]:
    return REACTION_CHOICES
