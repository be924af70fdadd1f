"""The form an admin fills in to connect a WhatsApp number through Evolution API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.base import ChannelSettings, ChannelSettingsForm

# Evolution's engines: a phone paired by QR code, or Meta's Cloud API driven by Evolution (for a
# team that keeps Evolution in between; the Cloud API is also a channel kind of its own here).
QR_PAIRING = "WHATSAPP-BAILEYS"
CLOUD_API = "WHATSAPP-BUSINESS"


class WhatsAppEvolutionForm(ChannelSettingsForm):
    help_text = _("The number is paired by scanning a QR code with WhatsApp on the phone (Linked devices), through "
                  "an Evolution API server: this installation's, or your own. The QR code shows once you save.")

    name = forms.CharField(label=_("Name"), max_length=120, initial="WhatsApp")
    instance_name = forms.SlugField(
        label=_("Instance name"), max_length=100, required=False,
        help_text=_("The number's name on the Evolution server (letters, digits, dashes). Empty: made from your "
                    "account's and the channel's names."))
    pairing = forms.ChoiceField(label=_("Connection"), initial=QR_PAIRING, choices=[
        (QR_PAIRING, _("QR code pairing")), (CLOUD_API, _("WhatsApp Cloud API through Evolution"))])
    access_token = forms.CharField(
        label=_("Meta access token"), required=False, max_length=1000, widget=forms.PasswordInput(render_value=False),
        help_text=_("WhatsApp Cloud API through Evolution: a permanent token of a system user (Meta Business "
                    "Settings); stored encrypted."))
    phone_number_id = forms.RegexField(
        label=_("Phone number ID"), regex=r"^\d{5,30}$", required=False, max_length=30,
        help_text=_("WhatsApp Cloud API through Evolution: from WhatsApp Manager (API Setup)."))
    business_account_id = forms.RegexField(
        label=_("WhatsApp Business Account ID"), regex=r"^\d{5,30}$", required=False, max_length=30,
        help_text=_("WhatsApp Cloud API through Evolution: from WhatsApp Manager."))
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
        if data.get("pairing") == CLOUD_API:
            for name in ("access_token", "phone_number_id", "business_account_id"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Required for the WhatsApp Cloud API through Evolution."))
        return data

    def channel_settings(self) -> ChannelSettings:
        data: dict[str, Any] = self.cleaned_data
        config: dict[str, Any] = {"integration": data["pairing"], "groups": bool(data["groups"])}
        if data["instance_name"]:
            config["instance"] = data["instance_name"]
        if data["server_url"]:
            config["server_url"] = data["server_url"].rstrip("/")
        credentials = {"api_key": data["api_key"]} if data["api_key"] else {}
        if data["pairing"] == CLOUD_API:  # the Cloud API has no group chats
            config.update(groups=False, phone_number_id=data["phone_number_id"],
                          business_account_id=data["business_account_id"])
            credentials["access_token"] = data["access_token"]
        return ChannelSettings(name=data["name"], config=config, credentials=credentials)
