"""The inbox's snooze entry: a quick choice ("in 1 hour", "tomorrow at 9:00", "next Monday")
or a date and time typed in the page's language (dd/mm/aaaa hh:mm in Portuguese, mm/dd/yyyy
hh:mm in English), read in the tenant's time zone. A browser's datetime-local field would
follow the browser's locale instead of the page's."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

# When a day-long choice ends: the start of a working morning, in the tenant's time zone.
MORNING = dt.time(9, 0)


def snooze_format_hint() -> str:
    """How to type a date and time in the active language (the field's placeholder)."""
    return pgettext("snooze field placeholder", "mm/dd/yyyy hh:mm")


def _example(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime(pgettext("strftime of a typed date and time", "%m/%d/%Y %H:%M"))


def snooze_preset(choice: str, *, now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    if choice == "hour":
        return (local + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    days = 1 if choice == "tomorrow" else 7 - local.weekday()  # the next Monday, a week on if today is one
    day = local.date() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, MORNING))


class SnoozeForm(forms.Form):
    PRESETS = (
        ("hour", pgettext_lazy("snooze", "In 1 hour")),
        ("tomorrow", pgettext_lazy("snooze", "Tomorrow at 9:00")),
        ("monday", pgettext_lazy("snooze", "Next Monday at 9:00")),
    )

    snooze = forms.ChoiceField(choices=PRESETS, required=False)
    # localize: read with the active language's DATETIME_INPUT_FORMATS, in the current time zone.
    snoozed_until = forms.DateTimeField(localize=True, required=False)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        now = timezone.now()
        if self.errors.get("snoozed_until") or (not cleaned.get("snooze") and not cleaned.get("snoozed_until")):
            self.errors.pop("snoozed_until", None)
            raise forms.ValidationError(
                _("Choose when, or type the date and time as %(example)s."),
                params={"example": _example(snooze_preset("tomorrow", now=now))}, code="invalid")
        until = snooze_preset(cleaned["snooze"], now=now) if cleaned.get("snooze") else cleaned["snoozed_until"]
        if until <= now:
            raise forms.ValidationError(_("That time has passed: choose a time in the future."), code="past")
        cleaned["until"] = until
        return cleaned

    def error_message(self) -> str:
        return " ".join(self.non_field_errors()) or " ".join(str(e) for errors in self.errors.values() for e in errors)
