"""The forms an admin fills in to connect a number through a connection service, and to
replace the service's API key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.baileys_service.client import AUTH_BEARER, AUTH_X_API_KEY, STYLE_SHORT, STYLE_V1
from integrations.base import ChannelSettings, ChannelSettingsForm

STYLE_CHOICES = (
    (STYLE_V1, _("/api/v1/sessions/{session}/… (Authorization: Bearer)")),
    (STYLE_SHORT, _("/sessions/start, /message/send (X-API-KEY)")),
)
AUTH_CHOICES = ((AUTH_BEARER, _("Authorization: Bearer <key>")), (AUTH_X_API_KEY, _("X-API-KEY: <key>")))


class ConnectionServiceForm(ChannelSettingsForm):
    help_text = _("A number paired by QR code through your own connection service (a small Baileys server). Leave "
                  "the address and the key empty to use this installation's service. The service is asked when you "
                  "save; then scan the QR code with the phone.")

    name = forms.CharField(label=_("Name"), max_length=120, initial="WhatsApp")
    service_url = forms.CharField(label=_("Service address (empty: this installation's)"), max_length=300,
                                  required=False, widget=forms.URLInput(attrs={"placeholder": "https://"}))
    api_key = forms.CharField(label=_("Service API key (empty: this installation's)"), max_length=500,
                              required=False, widget=forms.PasswordInput(render_value=False))
    path_style = forms.ChoiceField(label=_("The service's paths"), choices=STYLE_CHOICES, initial=STYLE_V1)
    auth_header = forms.ChoiceField(label=_("How the service takes its key"), choices=AUTH_CHOICES,
                                    initial=AUTH_BEARER)

    def clean_service_url(self) -> str:
        url = str(self.cleaned_data.get("service_url") or "").strip()
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise forms.ValidationError(_("Type the service's address, e.g. https://service.example.com."))
        return url.rstrip("/")

    def channel_settings(self) -> ChannelSettings:
        data: dict[str, Any] = self.cleaned_data
        config = {"path_style": data["path_style"], "auth_header": data["auth_header"]}
        if data["service_url"]:
            config["service_url"] = data["service_url"]
        return ChannelSettings(name=data["name"], config=config,
                               credentials={"api_key": data["api_key"]} if data["api_key"] else {})


class ApiKeyForm(forms.Form):
    """A new key of the service: checked with it before it replaces the old one."""

    api_key = forms.CharField(label=_("New service API key"), max_length=500,
                              widget=forms.PasswordInput(render_value=False))
