"""The style guide: the design system's tokens and components on one staff-only page, so the
next page is built from them (static/README.md says the same in words)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from channels_app.kinds import kinds_available

# The colour tokens shown as swatches (static/ui/ui.css defines each, in both themes).
COLOUR_TOKENS = (
    "bg", "surface", "surface-2", "border", "border-strong", "text", "text-muted",
    "accent", "on-accent", "accent-soft", "accent-strong", "danger", "danger-soft", "danger-strong",
    "warning-soft", "warning-strong", "info-soft", "info-strong", "neutral-soft", "neutral-strong",
    "focus", "link", "bubble-in", "bubble-out", "note",
)
SPACE_TOKENS = tuple(range(1, 8))
TYPE_TOKENS = ("xs", "sm", "md", "lg", "xl", "2xl")
# Networks that have an icon even when no kind of this installation uses them yet.
ICON_NETWORKS = ("whatsapp", "api", "email", "sms", "messenger", "instagram", "webchat", "")


@login_required
def styleguide(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    now = timezone.now()
    return render(request, "styleguide.html", {
        "colour_tokens": COLOUR_TOKENS, "space_tokens": SPACE_TOKENS, "type_tokens": TYPE_TOKENS,
        "kinds": kinds_available(), "icon_networks": ICON_NETWORKS,
        "moments": (now - timedelta(seconds=20), now - timedelta(minutes=5), now - timedelta(hours=3),
                    now - timedelta(days=2), now - timedelta(days=40)),
        "people": ("Carla Castro", "Diego Dias", "Elisa Souza", "ana", "+55 11 98765-4321", "Zoë Ñúñez"),
    })
