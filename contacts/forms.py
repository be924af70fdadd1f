"""The contacts pages' forms: the list's filters, a contact's edit, an import's file and its
columns. They parse and show errors; the services decide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.imports import TARGET_LABELS, TARGETS
from contacts.selectors import ContactFilters

_YES_NO = (("", _("Any")), ("yes", _("Yes")), ("no", _("No")))


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                      "placeholder": _("Name, phone or email")}))
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    has_phone = forms.ChoiceField(label=_("Has a phone"), required=False, choices=_YES_NO)
    has_email = forms.ChoiceField(label=_("Has an email"), required=False, choices=_YES_NO)
    since = forms.DateField(label=_("Created from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(label=_("Created until"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, channels: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("Any channel")), *channels]

    def filters(self) -> ContactFilters:
        """The filters asked for (none when the form is not valid)."""
        if not self.is_bound or not self.is_valid():
            return ContactFilters()
        data = self.cleaned_data

        def day_start(day: dt.date) -> dt.datetime:
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

        def yes_no(value: str) -> bool | None:
            return {"yes": True, "no": False}.get(value)

        return ContactFilters(
            text=data.get("q") or "",
            channel_id=data.get("channel") or None,
            has_phone=yes_no(data.get("has_phone") or ""),
            has_email=yes_no(data.get("has_email") or ""),
            created_since=day_start(data["since"]) if data.get("since") else None,
            created_before=day_start(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        )


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40,
                            help_text=_("With the country code, e.g. +55 11 98765-4321."))
    email = forms.CharField(label=_("Email"), required=False, max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    language = forms.CharField(label=_("Language"), required=False, max_length=8,
                               help_text=_("A language code, e.g. pt-BR or en."))
    consent_at = forms.DateTimeField(label=_("Consent given at"), required=False,
                                     input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                format="%Y-%m-%dT%H:%M"))
    consent_source = forms.CharField(label=_("Consent source"), required=False, max_length=120,
                                     help_text=_("How the person agreed, e.g. the website's form."))


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"),
                           help_text=_("The first line names the columns. Separated by commas or semicolons, "
                                       "in UTF-8 (Excel: \"CSV UTF-8\")."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))


class ImportMappingForm(forms.Form):
    """One choice per column of the file: what it is."""

    def __init__(self, *args: Any, headers: Sequence[str], initial_mapping: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(target, TARGET_LABELS[target]) for target in TARGETS]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)d") % {"number": index + 1}, choices=choices,
                initial=initial_mapping[index] if index < len(initial_mapping) else "ignore")
        self.column_count = len(headers)

    def mapping(self) -> list[str]:
        return [self.cleaned_data[f"column_{index}"] for index in range(self.column_count)]
