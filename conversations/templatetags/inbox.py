from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

# Short text badges: they render the same on every system, emoji fonts or not.
_CHANNEL_ICONS = {
    "whatsapp_cloud": "WA", "whatsapp_evolution": "WA", "whatsapp_gateway": "WA", "messenger": "FB",
    "instagram": "IG", "email": "@", "sms_twilio": "SMS", "webchat": "WEB", "api": "API",
}
_DELIVERY = {
    "PENDING": ("◷", _("Pending")), "QUEUED": ("◷", _("Queued")), "SENT": ("✓", _("Sent")),
    "DELIVERED": ("✓✓", _("Delivered")), "READ": ("✓✓", _("Read")), "FAILED": ("⚠", _("Failed")),
}


@register.filter
def channel_icon(kind: str) -> str:
    return _CHANNEL_ICONS.get(kind, "•")


@register.filter
def delivery_icon(status: str) -> str:
    return _DELIVERY.get(status, ("", ""))[0]


@register.filter
def delivery_label(status: str) -> str:
    return str(_DELIVERY.get(status, ("", status))[1])


@register.filter
def is_image(content_type: str) -> bool:
    return (content_type or "").startswith("image/")
