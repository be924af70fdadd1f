from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

_CHANNEL_ICONS = {
    "whatsapp_cloud": "🟢", "whatsapp_evolution": "🟢", "whatsapp_gateway": "🟢", "messenger": "💬",
    "instagram": "📸", "email": "✉️", "sms_twilio": "📱", "webchat": "🌐", "api": "🔌",
}
_DELIVERY = {
    "PENDING": ("🕓", _("Pending")), "QUEUED": ("🕓", _("Queued")), "SENT": ("✓", _("Sent")),
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
