"""A number paired by QR code through a connection service of the user's own: the adapter.
The service's paths, headers, settings, envelope and demo channel stay in this package (its
docstring describes the wire format)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels_app.models import Channel
from integrations.baileys_service.client import (
    AUTH_BEARER,
    AUTH_HEADERS,
    AUTH_X_API_KEY,
    STYLE_SHORT,
    STYLE_V1,
    STYLES,
    Answer,
    ConnectionService,
    answer_body,
)
from integrations.baileys_service.events import (
    SIGNATURE_HEADER,
    connection_update,
    qr_fields,
    webhook_parse,
    webhook_verify,
)
from integrations.baileys_service.forms import ApiKeyForm, ConnectionServiceForm
from integrations.base import (
    Capabilities,
    ChannelAdapter,
    ConnectionUpdate,
    ConnectRefused,
    DemoChannel,
    OutboundMessage,
    ProviderAuthError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderSetting,
    SendResult,
    SetupStep,
    WebhookBatch,
    tenant_server_refused,
    webhook_envelope_string,
)

SERVICE_URL = ProviderSetting("CONNECTION_SERVICE_URL", "",
                              "Where this installation's connection service listens (channels may name their own).")
SERVICE_API_KEY = ProviderSetting("CONNECTION_SERVICE_API_KEY", "", "The key of this installation's connection service.")
# Seed 003's names of the same two settings: read when the ones above are not set.
SEED_SERVICE_URL = ProviderSetting("WHATSAPP_MICROSERVICE_URL", "", "Older name of CONNECTION_SERVICE_URL.")
SEED_SERVICE_API_KEY = ProviderSetting("WHATSAPP_API_KEY", "", "Older name of CONNECTION_SERVICE_API_KEY.")
SANDBOX_URL = ProviderSetting("CONNECTION_SERVICE_SANDBOX_URL", "http://127.0.0.1:8083",
                              "Where sandbox channels (config sandbox: true) go: the local simulator.")

MEDIA_NOT_SUPPORTED = "media_not_supported"
MEDIA_NOT_SUPPORTED_MESSAGE = ("The connection service takes files only by a public link, and this inbox keeps its "
                               "files private: this channel sends text only. Write the message without the file, or "
                               "send the file through another channel.")
NO_MESSAGE_ID = "The connection service took the message but gave no id for it: it may have been sent."


def new_session_id() -> str:
    """A channel's name on the service: ours alone, and nothing of the tenant's."""
    return "inbox-" + secrets.token_hex(12)


class ConnectionServiceAdapter(ChannelAdapter):
    kind = "whatsapp_gateway"
    label = gettext_lazy("WhatsApp (connection service)")
    badge = "WA"
    network = "whatsapp"  # the same numbers as the Cloud API's and the other gateways'
    capabilities = Capabilities(
        # A paired phone has no customer-service window; the service's seeds send text only
        # (media would need a public link to our files), and read no receipts of ours. The
        # Cloud API's text limit, so that a number moving between them keeps its rules.
        max_text_length=4096, qr_pairing=True,
    )
    settings = (SERVICE_URL, SERVICE_API_KEY, SEED_SERVICE_URL, SEED_SERVICE_API_KEY, SANDBOX_URL)
    # A number paired by QR code that sends like a machine gets banned: a human's pace.
    default_send_pacing_seconds = (1.0, 3.0)
    form_class = ConnectionServiceForm
    credentials_form_class = ApiKeyForm
    simulator = "integrations.baileys_service.simulator.command"
    api_urls = None  # the service posts to the webhook endpoint every provider shares

    # --- the channel's settings --------------------------------------------------------
    @property
    def session_id(self) -> str:
        return str(self.channel.config.get("session_id", ""))

    @property
    def account(self) -> str:
        return self.session_id

    @property
    def service(self) -> ConnectionService:
        """The channel's service (its own address and key, else the installation's)."""
        config, credentials = self.channel.config, self.channel.credentials
        if config.get("sandbox"):
            base_url = SANDBOX_URL.value
        else:
            base_url = str(config.get("service_url") or SERVICE_URL.value or SEED_SERVICE_URL.value)
        api_key = str(credentials.get("api_key") or SERVICE_API_KEY.value or SEED_SERVICE_API_KEY.value)
        style = config.get("path_style") if config.get("path_style") in STYLES else STYLE_V1
        default_auth = AUTH_X_API_KEY if style == STYLE_SHORT else AUTH_BEARER
        auth = config.get("auth_header") if config.get("auth_header") in AUTH_HEADERS else default_auth
        return ConnectionService(base_url=base_url.strip(), api_key=api_key, auth_header=auth, style=style,
                                 tenants=bool(config.get("service_url")) and not config.get("sandbox"))

    # --- inbound -----------------------------------------------------------------------
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        return webhook_verify(body=body, headers=headers,
                              secret=str(self.channel.credentials.get("webhook_secret", "")))

    def parse_webhook(self, body: bytes) -> WebhookBatch:
        return webhook_parse(body)

    @classmethod
    def webhook_channels_named(cls, body: bytes) -> Q | None:
        """A service posting every session's events to one URL names the session in its
        envelope's `tenantId` (our session id, nothing of our tenant's): the channels whose config
        keeps that session id."""
        session = webhook_envelope_string(body, "tenantId")
        return Q(config__session_id=session) if session else None

    # --- outbound ----------------------------------------------------------------------
    def send(self, message: OutboundMessage) -> SendResult:
        if message.attachments:
            raise ProviderPermanentError(MEDIA_NOT_SUPPORTED_MESSAGE, code=MEDIA_NOT_SUPPORTED)
        service = self.service
        path, body = service.send_request(self.session_id, {"to": message.to, "message": message.content,
                                                            "type": "text"})
        answer = answer_body(service.call("POST", path, body=body, sends=True))
        message_id = answer.get("messageId")
        if not isinstance(message_id, str | int) or isinstance(message_id, bool) or not str(message_id).strip():
            raise ProviderOutcomeUnknown(NO_MESSAGE_ID, code="no_message_id")
        return SendResult(provider_message_id=str(message_id))

    # --- pairing -----------------------------------------------------------------------
    def _start(self) -> Answer:
        service = self.service
        path, body = service.start_request(self.session_id)
        return service.call("POST", path, body=body)

    def _delete(self) -> None:
        """The session deleted on the service (the phone logged out); one it no longer has is
        deleted already."""
        service = self.service
        answer = service.call("DELETE", service.session_path(self.session_id))
        if answer.status != 404:
            answer_body(answer)

    def pair(self, *, phone: str = "") -> ConnectionUpdate:
        """The session started (or refreshed) and its QR code. The seeds' services have no
        pairing by a typed code: with `phone`, the QR code all the same, saying so."""
        note = _("This connection service pairs by QR code only: scan the QR code with the phone.") if phone else ""
        answer = self._start()
        if answer.status != 409:  # 409: started already; its state says the rest
            qr = qr_fields(answer_body(answer).get("qrCode"))
            if qr:
                return ConnectionUpdate(status=Channel.Status.QR_PENDING, detail=note, **qr)
        state = self.connection_state()
        if note and state.status != Channel.Status.CONNECTED:
            return ConnectionUpdate(status=state.status, detail=note, qr_code=state.qr_code, qr_image=state.qr_image)
        return state

    def connection_state(self) -> ConnectionUpdate:
        service = self.service
        answer = service.call("GET", service.status_path(self.session_id))
        if answer.status == 404:
            return ConnectionUpdate(status=Channel.Status.DISCONNECTED,
                                    detail=_("The connection service has no session for this channel: pair it "
                                             "again."))
        return connection_update(answer_body(answer))

    def disconnect(self) -> None:
        self._delete()

    def restart(self) -> None:
        self._delete()
        answer = self._start()
        if answer.status != 409:
            answer_body(answer)

    def remove(self) -> None:
        self._delete()

    def sandbox_scan(self, *, phone: str) -> None:
        if not self.channel.config.get("sandbox"):
            super().sandbox_scan(phone=phone)
        self.service.call("POST", "/_sim/scan", body={"session": self.session_id, "phone": phone.lstrip("+")})

    # --- connecting --------------------------------------------------------------------
    @classmethod
    def connects_without_settings(cls) -> bool:
        """The installation's connection service is set (its key may be empty: a service
        without one)."""
        return bool(SERVICE_URL.value.strip() or SEED_SERVICE_URL.value.strip())

    def connect(self) -> None:
        """Ask the service with the channel's key, and start pairing: the channel waits for the
        QR code's scan (or is connected already). Gives the channel its session id and the
        secret the service signs its webhooks with, the first time."""
        channel = self.channel
        if not channel.config.get("session_id"):
            channel.config["session_id"] = new_session_id()
        if not channel.credentials.get("webhook_secret"):
            channel.credentials["webhook_secret"] = secrets.token_urlsafe(32)
        if not self.service.base_url:
            message = _("No connection service is set up here: type the service's address (the installation's "
                        "CONNECTION_SERVICE_URL is empty).")
            raise ConnectRefused(message, code="validation_error", fields=("service_url",),
                                 details={"config": ["service_url"], "service_url": [message]})
        if not channel.config.get("sandbox") and (refused := tenant_server_refused(
                str(channel.config.get("service_url") or ""))) is not None:
            raise ConnectRefused(refused.message, code=refused.code, fields=("service_url",),
                                 details={"config": ["service_url"], "service_url": [refused.message]})
        try:
            state = self.connection_state()
            if state.status != Channel.Status.CONNECTED:
                state = self.pair()
        except ProviderAuthError:
            message = _("The connection service refused the API key: check it, and how the service takes it.")
            raise ConnectRefused(message, code="provider_auth_failed", fields=("api_key",),
                                 details={"credentials": ["api_key"], "api_key": [message]}) from None
        except ProviderPermanentError as error:
            message = _("The connection service refused to start a session: check its address and its paths.")
            raise ConnectRefused(message, code="provider_rejected", fields=("service_url", "path_style"),
                                 details={"config": ["service_url", "path_style"],
                                          "provider_message": error.message}) from None
        codes = {name: value for name, value in (("qr_code", state.qr_code), ("qr_image", state.qr_image)) if value}
        channel.config["pairing"] = {**codes, "at": timezone.now().isoformat()} if codes else {}
        if state.phone:
            channel.config["phone"] = state.phone
        channel.status, channel.status_detail = state.status, state.detail

    def setup_steps(self) -> list[SetupStep]:
        config, credentials = self.channel.config, self.channel.credentials
        steps = [
            SetupStep(_("Where to paste these"), _("In the connection service's settings for this session: where it "
                                                  "posts its events, and the secret it signs them with "
                                                  "(%(header)s, HMAC-SHA256).") % {"header": SIGNATURE_HEADER}),
            SetupStep(_("Webhook URL"), self.channel.webhook_url, copy=True),
        ]
        if credentials.get("webhook_secret"):
            steps.append(SetupStep(_("Webhook secret"), str(credentials["webhook_secret"]), secret=True, copy=True))
        if config.get("session_id"):
            steps.append(SetupStep(_("Session id (tenantId)"), str(config["session_id"]), copy=True))
        steps.append(SetupStep(_("Service"), str(config["service_url"]) if config.get("service_url")
                               else _("This installation's connection service")))
        if config.get("phone"):
            steps.append(SetupStep(_("Number"), str(config["phone"])))
        if config.get("sandbox"):
            steps.append(SetupStep(_("Sandbox"), _("This channel talks to the local connection service simulator "
                                                   "(manage.py simulator whatsapp_gateway), not to a real phone.")))
        return steps

    @classmethod
    def demo_channels(cls, *, tenant_slug: str, tenant_name: str, number: int) -> list[DemoChannel]:
        """The store's own number paired by QR code, in sandbox mode: it talks to the local
        simulator (manage.py simulator whatsapp_gateway --sandbox-channels), never to a phone."""
        config: dict[str, Any] = {"session_id": f"demo-{tenant_slug}", "path_style": STYLE_V1,
                                  "auth_header": AUTH_BEARER, "sandbox": True, "demo": True,
                                  "phone": f"+5511966{number:06d}"}
        return [DemoChannel(role="store_phone", name="WhatsApp Loja", config=config,
                            credentials={"api_key": "demo-service-key", "webhook_secret": f"demo-secret-{tenant_slug}"})]
