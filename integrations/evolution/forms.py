"""The form an admin fills in to connect a WhatsApp number through Evolution API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.base import ChannelSettings, ChannelSettingsForm

# Evolution's engines; the inbox pairs through the QR code one (Meta's Cloud API, which it can
# also drive, is a channel kind of its own here, without a gateway in between).
QR_PAIRING = "WHATSAPP-BAILEYS"


class WhatsAppEvolutionForm(ChannelSettingsForm):
    help_text = _("The number is paired by scanning a QR code with WhatsApp on the phone (Linked devices), through "
                  "an Evolution API server: this installation's, or your own. The QR code shows once you save.")

    name = forms.CharField(label=_("Name"), max_length=120, initial="WhatsApp")
    instance_name = forms.SlugField(
        label=_("Instance name"), max_length=100, required=False,
        help_text=_("The number's name on the Evolution server (letters, digits, dashes). Empty: made from your "
                    "account's and the channel's names."))
    pairing = forms.ChoiceField(label=_("Connection"), choices=[(QR_PAIRING, _("QR code pairing"))],
                                initial=QR_PAIRING)
    groups = forms.BooleanField(label=_("Also receive group chats"), required=False,
                                help_text=_("Each group becomes a conversation of its own."))
    server_url = forms.URLField(
        label=_("Your own Evolution API server (optional)"), required=False, max_length=500, assume_scheme="https",
        help_text=_("Its address, e.g. https://evolution.example.com. Empty: this installation's server."))
    api_key = forms.CharField(label=_("Its global API key"), required=False, max_length=500,
                              widget=forms.PasswordInput(render_value=False),
                              help_text=_("AUTHENTICATION_API_KEY of your server; stored encrypted."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("server_url")) != bool(data.get("api_key")):
            missing = "api_key" if data.get("server_url") else "server_url"
            self.add_error(missing, _("Give both your server's address and its API key, or neither."))
        return data

    def channel_settings(self) -> ChannelSettings:
        data: dict[str, Any] = self.cleaned_data
        config: dict[str, Any] = {"integration": data["pairing"], "groups": bool(data["groups"])}
        if data["instance_name"]:
            config["instance"] = data["instance_name"]
        if data["server_url"]:
            config["server_url"] = data["server_url"].rstrip("/")
        credentials = {"api_key": data["api_key"]} if data["api_key"] else {}
        return ChannelSettings(name=data["name"], config=config, credentials=credentials)
