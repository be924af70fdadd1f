"""The forms an admin fills in to connect a WhatsApp Cloud number, and to replace its token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.base import ChannelSettings, ChannelSettingsForm


class WhatsAppCloudForm(ChannelSettingsForm):
    help_text = _("Find these in Meta's App Dashboard → WhatsApp → API Setup, and the app secret in App settings → "
                  "Basic. They are checked with Meta when you save, and stored encrypted.")

    name = forms.CharField(label=_("Name"), max_length=120, initial="WhatsApp")
    phone_number_id = forms.RegexField(label=_("Phone number ID"), regex=r"^\d{5,30}$", max_length=30)
    waba_id = forms.RegexField(label=_("WhatsApp Business Account ID"), regex=r"^\d{5,30}$", max_length=30)
    access_token = forms.CharField(label=_("Access token"), max_length=4096,
                                   widget=forms.PasswordInput(render_value=False))
    app_secret = forms.CharField(label=_("App secret"), max_length=256, widget=forms.PasswordInput(render_value=False))
    verify_token = forms.CharField(label=_("Verify token (empty: one is generated)"), max_length=256, required=False)

    def channel_settings(self) -> ChannelSettings:
        data: dict[str, Any] = self.cleaned_data
        return ChannelSettings(
            name=data["name"], config={"phone_number_id": data["phone_number_id"], "waba_id": data["waba_id"]},
            credentials={key: data[key] for key in ("access_token", "app_secret", "verify_token") if data[key]},
        )


class AccessTokenForm(forms.Form):
    """A new access token (Meta's expire, or are revoked): checked with Meta before it replaces the old one."""

    access_token = forms.CharField(label=_("New access token"), max_length=4096,
                                   widget=forms.PasswordInput(render_value=False))
