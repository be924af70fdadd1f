"""The `api` channel: an integrator is the provider. Contacts' messages come in through
POST /api/v1/channels/{id}/messages (integrations.api_channel.api); agents' replies go out
as events (the integrator's WebSocket, and outbound webhooks), so handing one over cannot fail
and it counts as sent."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.base import (
    Capabilities,
    ChannelAdapter,
    ChannelSettings,
    ChannelSettingsForm,
    DemoChannel,
    OutboundMessage,
    SendResult,
    SetupStep,
    WebhookBatch,
    WebhookRejected,
)


class ApiChannelForm(ChannelSettingsForm):
    help_text = gettext_lazy("Your system delivers contacts' messages through the API and receives agents' replies "
                             "as events. Nothing to check with a provider: the channel works at once.")

    name = forms.CharField(label=gettext_lazy("Name"), max_length=120, initial="API")
    description = forms.CharField(label=gettext_lazy("Description"), max_length=500, required=False)

    def channel_settings(self) -> ChannelSettings:
        description = self.cleaned_data["description"]
        return ChannelSettings(name=self.cleaned_data["name"],
                               config={"description": description} if description else {}, credentials={})


class ApiChannelAdapter(ChannelAdapter):
    kind = "api"
    label = gettext_lazy("API")
    badge = "API"
    capabilities = Capabilities(connected_on_create=True)
    settings = ()
    form_class = ApiChannelForm
    credentials_form_class = None
    # No simulator: the integrator is the provider (the API and the events socket are its interface).
    simulator = None
    api_urls = "integrations.api_channel.urls"

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        raise WebhookRejected("API channels receive messages through POST /api/v1/channels/{id}/messages")

    def parse_webhook(self, body: bytes) -> WebhookBatch:
        return WebhookBatch()

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider_message_id=f"api-{message.message_id}")

    def connect(self) -> None:
        return None  # nothing to check: connected from the start

    def setup_steps(self) -> list[SetupStep]:
        return [
            SetupStep(_("Deliver contacts' messages"), f"POST /api/v1/channels/{self.channel.pk}/messages", copy=True),
            SetupStep(_("Receive agents' replies"), _("message.created events on the WebSocket /ws/v1/events")),
        ]

    @classmethod
    def demo_channels(cls, *, tenant_slug: str, tenant_name: str, number: int) -> list[DemoChannel]:
        return [DemoChannel(role="integration", name="API de integração", address_format="crm-1{index:04d}",
                            config={"description": "Mensagens do app e do ERP", "demo": True}, credentials={})]
