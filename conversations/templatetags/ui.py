"""The design system's template tags (static/README.md): avatars with initials, channel icons,
relative times, empty states. Markup lives in templates/ui/; what people typed (names) is
escaped there like any other value."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django import template
from django.contrib.messages import get_messages
from django.template.defaultfilters import date as date_filter
from django.utils.translation import get_language

from channels_app.kinds import kind_of

register = template.Library()

AVATAR_TONES = 8
_WORD = re.compile(r"[^\W\d_]+")  # letters only: a phone number or "#1a2b" has no initials


def initials(name: str) -> str:
    """Up to two letters for a name: "Carla Castro" → "CC", "ana" → "A", "+55 11 9..." → "",
    and none for a contact known only by a piece of its id ("#1a2b3c4d")."""
    text = str(name or "").strip()
    words = [] if text.startswith("#") else _WORD.findall(text)
    if not words:
        return ""
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_tone(name: str) -> int:
    """One of the avatar colours, the same for a name on every page and every run."""
    return sum(ord(character) for character in str(name or "")) % AVATAR_TONES


@register.inclusion_tag("ui/_avatar.html")
def avatar(name: Any, picture_url: str = "", size: str = "") -> dict[str, Any]:
    """A person's avatar: their picture (a web address only) over their initials."""
    text = str(name or "")
    picture = picture_url if isinstance(picture_url, str) and picture_url.startswith(("https://", "http://")) else ""
    return {"initials": initials(text), "tone": avatar_tone(text), "picture": picture, "size": size}


@register.inclusion_tag("ui/_channel_icon.html")
def channel_icon_svg(kind: str, label: bool = False) -> dict[str, Any]:
    """The icon of a channel kind, keyed by its network (kinds of one network share one), or by
    the kind itself when it has none. `label`: the icon names the kind for screen readers
    (when no text beside it does)."""
    info = kind_of(kind)
    return {"network": info.network or info.value, "label": info.label if label else ""}


@register.inclusion_tag("ui/_time.html")
def moment(value: datetime | None) -> dict[str, Any]:
    """A moment in words ("5 min ago"), its exact time on hover; static/ui/ui.js keeps it current."""
    return {"moment": value}


# The days already written, by day, format and language (a bounded memo, emptied when full).
_DAYS: dict[tuple[date, str, str | None], str] = {}
_DAYS_KEPT = 2048


@register.filter(expects_localtime=True)
def day(value: Any, format_name: str = "DATE_FORMAT") -> str:
    """The day of a moment (in the current time zone) as Django's `date` filter writes it in a
    format of the day only ("Y-m-d", DATE_FORMAT), written once per day and language: a thread
    writes the day of each of its messages three times, and formatting a date costs more than
    the rest of a message's markup."""
    if not isinstance(value, datetime):
        return str(date_filter(value, format_name))
    key = (value.date(), format_name, get_language())
    found = _DAYS.get(key)
    if found is None:
        if len(_DAYS) >= _DAYS_KEPT:
            _DAYS.clear()
        found = _DAYS[key] = str(date_filter(value, format_name))
    return found


@register.inclusion_tag("ui/_empty.html")
def empty_state(title: str = "", text: str = "", icon: str = "", role: str = "") -> dict[str, Any]:
    return {"title": title, "text": text, "icon": icon, "role": role}


@register.simple_tag(takes_context=True)
def toasts(context: template.Context) -> list[Any]:
    """Django's messages for this request, read from the request itself: pages name their own
    context variable `messages` (a thread's), which hides the one the context processor gives."""
    request = context.get("request")
    return list(get_messages(request)) if request is not None else []


@register.simple_tag
def notices_unread(access: Any) -> int:
    """How many of the member's notices are unread (the bell in the top bars)."""
    from accounts.notices import notice_unread_count

    return notice_unread_count(access=access) if access is not None and getattr(access, "tenant", None) else 0
