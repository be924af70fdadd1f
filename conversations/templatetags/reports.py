"""The reports' template filters."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as a person reads them: 45 s, 12 min, 3 h 05 min, 2 d 4 h; — for none."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return _("%(s)s s") % {"s": total}
    minutes = round(total / 60)
    if minutes < 60:
        return _("%(m)s min") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)02d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
