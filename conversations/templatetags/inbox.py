from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from channels_app.kinds import kind_of
from conversations.services import attachment_family as _attachment_family

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
def delivery_icon(status: str) -> str:
    return _DELIVERY.get(status, ("", ""))[0]


@register.filter
def delivery_label(status: str) -> str:
    return str(_DELIVERY.get(status, ("", status))[1])


@register.filter
def attachment_family(content_type: str) -> str:
    """How the thread shows a file of this type: "image", "audio", "video", or "file" (a download)."""
    return _attachment_family(content_type or "")
