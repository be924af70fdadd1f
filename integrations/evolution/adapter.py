"""WhatsApp through Evolution API (v2): a number paired by QR code with an Evolution server, the
installation's shared one or a tenant's own. Evolution's wire format, headers, settings, forms,
simulator and demo data stay in this package.

One channel is one Evolution "instance": created when the channel is connected (with the
server's global API key), then driven with the instance's own token. Evolution posts every
event to the channel's webhook URL with a secret header of ours (Evolution signs nothing).

In Cloud API mode (config "integration": WHATSAPP-BUSINESS) the instance drives Meta's Cloud API
for a number instead of a phone paired by QR code: Meta's token (which Evolution makes the
instance's own), the phone number id and the business account id are checked with Meta, through
the WhatsApp Cloud provider's own check (asked of the registry), before the instance is created;
the instance is open from the start and there is no QR code. Messages come and go through
Evolution as for a paired phone."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels_app.models import Channel
from integrations.base import (
    AccountUpdates,
    Capabilities,
    ChannelAdapter,
    ConnectionUpdate,
    ConnectRefused,
    ContactUpdate,
    DemoChannel,
    IncomingMessage,
    MediaFile,
    OutboundMessage,
    ProviderAuthError,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderSetting,
    ProviderTemporaryError,
    SendResult,
    SetupStep,
    WebhookBatch,
    WebhookRejected,
    tenant_server_refused,
    webhook_envelope_string,
)
from integrations.evolution.client import SLOW_TIMEOUT, Answer, EvolutionServer, raise_for_answer
from integrations.evolution.events import SUBSCRIBED, found_messages, group_update, webhook_batch
from integrations.evolution.forms import CLOUD_API, QR_PAIRING, WhatsAppEvolutionForm
from integrations.registry import adapter_classes

API_URL = ProviderSetting("EVOLUTION_API_URL", "",
                          "The installation's shared Evolution API server (empty: tenants bring their own).")
API_KEY = ProviderSetting("EVOLUTION_API_KEY", "", "The shared server's global API key (AUTHENTICATION_API_KEY).")
SANDBOX_URL = ProviderSetting("EVOLUTION_SANDBOX_URL", "http://127.0.0.1:8082",
                              "Where sandbox channels (config sandbox: true) talk: the local simulator.")
# The header Evolution is told to send with every webhook, carrying the channel's secret. Our
# own name: Evolution replaces an Authorization header when its JWT mode is on (jwt_key), and
# proxies in front of the inbox may consume Authorization; this one passes through untouched.
SECRET_HEADER = "x-inbox-webhook-secret"
# Evolution's JWT mode: `Authorization: Bearer <HS256 JWT>` made with the key it is given.
JWT_CLAIMS = {"app": "evolution", "action": "webhook"}
JWT_LEEWAY_SECONDS = 30  # clock skew between the two servers
_INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_MEDIA_TYPES = {"IMAGE": "image", "VIDEO": "video", "AUDIO": "audio"}
# Messages asked for per page of /chat/findMessages (its `offset`).
FIND_PAGE_SIZE = 100


class WhatsAppEvolutionAdapter(ChannelAdapter):
    kind = "whatsapp_evolution"
    label = gettext_lazy("WhatsApp (Evolution API)")
    badge = "WA"
    network = "whatsapp"  # the same numbers as the Cloud API's: a channel can move between them
    capabilities = Capabilities(
        # A linked device of a phone: no customer-service window, no templates.
        reactions=True, max_text_length=4096, qr_pairing=True, contact_details=True, missed_messages=True, groups_listed=True,
        # WhatsApp's own limit for media (Evolution accepts request bodies up to 136 MB).
        max_media_bytes=16 * 1024 * 1024,
        media_types=frozenset({
            "image/*", "audio/*", "video/*", "application/pdf", "text/plain", "text/csv", "application/zip",
            "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
        }),
    )
    settings = (API_URL, API_KEY, SANDBOX_URL)
    # A phone's WhatsApp, not an API: bursts get numbers banned (a channel's config
    # "throughput_per_second" changes it).
    default_throughput_per_second = 2.0
    # And never at a machine's regular beat: a random gap between two sends (a channel's config
    # "send_pacing_seconds" changes it, "daily_send_cap" bounds a day).
    default_send_pacing_seconds = (0.5, 1.5)
    form_class = WhatsAppEvolutionForm
    credentials_form_class = None  # the instance's token is Evolution's own; a new server means a new channel
    simulator = "integrations.evolution.simulator.command"
    api_urls = None  # Evolution posts to the webhook endpoint every provider shares

    # --- where and how ------------------------------------------------------------
    @property
    def instance(self) -> str:
        return str(self.channel.config.get("instance", ""))

    @property
    def cloud_api(self) -> bool:
        """Meta's Cloud API through Evolution, rather than a phone paired by QR code."""
        return bool(self.channel.config.get("integration") == CLOUD_API)

    @property
    def pairs_by_qr_code(self) -> bool:
        return not self.cloud_api

    def _base_url(self) -> str:
        config = self.channel.config
        if config.get("sandbox"):
            return SANDBOX_URL.value
        return str(config.get("server_url") or API_URL.value)

    @property
    def _tenants_server(self) -> bool:
        """The tenant's own server (an address they typed), not the installation's."""
        return bool(self.channel.config.get("server_url")) and not self.channel.config.get("sandbox")

    def _server(self) -> EvolutionServer:
        """The server, as the channel's instance (its own token)."""
        base_url = self._base_url()
        if not base_url:
            raise ProviderAuthError("No Evolution API server is configured for this channel.", code="no_server")
        return EvolutionServer(base_url, str(self.channel.credentials.get("instance_token", "")),
                               tenants=self._tenants_server)

    def _admin_server(self) -> EvolutionServer:
        """The server, with its global key (creating an instance needs it)."""
        key = self.channel.credentials.get("api_key") if self.channel.config.get("server_url") else API_KEY.value
        return EvolutionServer(self._base_url(), str(key or ""), tenants=self._tenants_server)

    def _call(self, method: str, action: str, *, body: Any = None, query: Mapping[str, str] | None = None,
              sends: bool = False, timeout: tuple[float, float] | None = None) -> Any:
        """`action` of the channel's instance (e.g. "message/sendText"); its answer's body."""
        server = self._server()
        answer = server.call(method, f"{action}/{self.instance}", body=body, query=query, sends=sends, timeout=timeout)
        return raise_for_answer(answer)

    # --- inbound ------------------------------------------------------------------
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        """The channel's secret, in our header (compared in constant time) or as the key of an
        HS256 JWT (Evolution's jwt_key mode). The proof kept is the scheme, never the secret."""
        secret = str(self.channel.credentials.get("webhook_secret", ""))
        if not secret:
            raise WebhookRejected("this channel has no webhook secret")
        given = headers.get(SECRET_HEADER, "")
        if given:
            if hmac.compare_digest(given.encode(), secret.encode()):
                return SECRET_HEADER
            raise WebhookRejected(f"wrong {SECRET_HEADER}")
        scheme, _space, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise WebhookRejected(f"missing {SECRET_HEADER}")
        try:
            claims = jwt.decode(token.strip(), secret, algorithms=["HS256"], leeway=JWT_LEEWAY_SECONDS,
                                options={"require": ["exp"]})
        except jwt.PyJWTError as error:
            raise WebhookRejected(f"refused JWT: {type(error).__name__}") from None
        if any(claims.get(name) != value for name, value in JWT_CLAIMS.items()):
            raise WebhookRejected("refused JWT: not Evolution's webhook claims")
        return f"jwt exp={claims['exp']}"

    def parse_webhook(self, body: bytes) -> WebhookBatch:
        return webhook_batch(body)

    @classmethod
    def webhook_channels_named(cls, body: bytes) -> Q | None:
        """A server's unified webhook (one URL for all its instances) names the instance in its
        envelope's `instance`: the channels whose config keeps that instance name."""
        instance = webhook_envelope_string(body, "instance")
        return Q(config__instance=instance) if instance else None

    def fetch_media(self, media: Mapping[str, Any]) -> MediaFile | None:
        """The webhook's own copy when it carried one, else the server's: by the message's id
        (Evolution keeps the messages it saw), then, if it no longer has it, by the media
        fields the message came with."""
        mime_type = str(media.get("mime_type") or "application/octet-stream")
        inline = media.get("base64")
        if isinstance(inline, str) and inline:
            try:
                return self._media_file(base64.b64decode(inline, validate=True), mime_type, media)
            except (binascii.Error, ValueError):
                pass
        message_id = str(media.get("id") or "")
        if not message_id:
            return None
        download = media.get("download")
        attempts: list[dict[str, Any]] = [{"key": {"id": message_id}}]
        if isinstance(download, dict) and download.get("message"):
            attempts.append(download)
        answer: dict[str, Any] = {}
        for index, message in enumerate(attempts):
            try:
                answer = self._call("POST", "chat/getBase64FromMediaMessage", timeout=SLOW_TIMEOUT,
                                    body={"message": message, "convertToMp4": False})
                break
            except ProviderAuthError:
                raise
            except ProviderPermanentError:
                if index == len(attempts) - 1:
                    raise
        try:
            data = base64.b64decode(str(answer.get("base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise ProviderTemporaryError("Evolution API answered without the file.", code="bad_answer") from None
        return self._media_file(data, str(answer.get("mimetype") or mime_type), {
            **media, "filename": media.get("filename") or answer.get("fileName")})

    def messages_since(self, since: dt.datetime, *, until: dt.datetime | None = None,
                       limit: int = 2000) -> WebhookBatch:
        """POST /chat/findMessages, page after page (newest first), between two moments (Evolution
        filters by time only with both). What its database kept: a server that saves no messages
        (DATABASE_SAVE_DATA_NEW_MESSAGE off) answers none."""
        until = until or timezone.now()
        window = {"gte": since.isoformat(), "lte": until.isoformat()}
        size = max(1, min(FIND_PAGE_SIZE, limit))
        messages: list[IncomingMessage] = []
        page, pages = 1, 1
        while page <= pages and len(messages) < limit:
            answer = self._call("POST", "chat/findMessages", timeout=SLOW_TIMEOUT,
                                body={"where": {"messageTimestamp": window}, "page": page, "offset": size})
            try:
                found, pages = found_messages(answer)
            except ValueError:
                raise ProviderTemporaryError("Evolution API answered without the messages.", code="bad_answer") from None
            messages += found
            page += 1
        errors = (f"more than {limit} messages from {window['gte']} to {window['lte']}: the oldest were not "
                  "fetched",) if page <= pages else ()
        return WebhookBatch(updates=(AccountUpdates(account="", messages=tuple(messages[:limit])),), errors=errors)

    def fetch_contact(self, external_id: str) -> ContactUpdate | None:
        """A group's subject and picture (GET /group/findGroupInfos): a group's messages name no
        group. People's names come with their messages and contacts.update."""
        if not external_id.endswith("@g.us"):
            return None
        answer = self._server().call("GET", f"group/findGroupInfos/{self.instance}", query={"groupJid": external_id})
        if answer.status == 404 and "does not exist" not in answer.text:  # a group the number left
            return None
        found = raise_for_answer(answer)
        return group_update(found) if isinstance(found, dict) else None

    def groups_now(self) -> list[ContactUpdate]:
        """GET /group/fetchAllGroups (its `getParticipants` is required): the subjects and pictures
        of the number's groups. Evolution 2.3.6 never posts groups.update to an instance's webhook
        (its events are named GROUP_UPDATE there), so a renamed group is seen here. None for a
        channel that ignores groups."""
        if not self.channel.config.get("groups") or self.cloud_api:
            return []
        found = self._call("GET", "group/fetchAllGroups", query={"getParticipants": "false"},
                           timeout=SLOW_TIMEOUT)
        if not isinstance(found, list):
            raise ProviderTemporaryError("Evolution API answered without the groups.", code="bad_answer")
        return [update for item in found if isinstance(item, dict) and (update := group_update(item)) is not None]

    @staticmethod
    def _media_file(data: bytes, mime_type: str, media: Mapping[str, Any]) -> MediaFile:
        extension = mime_type.split("/")[-1].split(";")[0].strip() or "bin"
        name = str(media.get("filename") or f"whatsapp-{media.get('id') or 'file'}.{extension}")
        return MediaFile(data=data, content_type=mime_type, file_name=name[:255])

    # --- outbound -----------------------------------------------------------------
    def send(self, message: OutboundMessage) -> SendResult:
        if message.attachments:
            attachment = message.attachments[0]
            content_type = str(attachment.get("content_type") or "application/octet-stream")
            kind = _MEDIA_TYPES.get(message.type) or next(
                (value for value in _MEDIA_TYPES.values() if content_type.startswith(value + "/")), "document")
            body: dict[str, Any] = {
                "number": message.to, "mediatype": kind, "mimetype": content_type,
                "media": base64.b64encode(attachment["data"]).decode(),
                "fileName": str(attachment.get("file_name") or "file"),
            }
            if message.content and kind != "audio":
                body["caption"] = message.content
            action = "message/sendMedia"
        elif message.type == "REACTION":
            reaction = message.content_attributes.get("reaction") or {}
            jid = message.to if "@" in message.to else f"{message.to}@s.whatsapp.net"
            body = {"key": {"remoteJid": jid, "fromMe": bool(reaction.get("from_me")),
                            "id": message.reply_to_provider_id or ""}, "reaction": message.content}
            action = "message/sendReaction"
        else:
            body = {"number": message.to, "text": message.content, "linkPreview": False}
            action = "message/sendText"
        if message.reply_to_provider_id and message.type != "REACTION":
            body["quoted"] = {"key": {"id": message.reply_to_provider_id}}
        answer = self._call("POST", action, body=body, sends=True)
        if self.cloud_api and isinstance(answer, dict) and "key" not in answer and (
                "error_data" in answer or "message" in answer):
            # In Cloud API mode Evolution relays Meta's refusal as its answer, with 201 (its
            # whatsapp.business.service: `if (messageSent?.error_data || messageSent.message)
            # return messageSent`): nothing was sent.
            raise _meta_refusal(self.network, answer)
        message_id = (answer.get("key") or {}).get("id") if isinstance(answer, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # Accepted, perhaps sent: never sent again on its own (delivery unknown).
            raise ProviderOutcomeUnknown("Evolution API answered without the message's id.", code="bad_answer")
        return SendResult(provider_message_id=message_id)

    # --- connecting ---------------------------------------------------------------
    @classmethod
    def connects_without_settings(cls) -> bool:
        """The installation's shared server and its global key are set."""
        return bool(API_URL.value and API_KEY.value)

    def connect(self) -> None:
        """Create the channel's instance on the server (once), point its webhook at the
        channel, and show the first QR code. Again later (the settings changed): the webhook
        is set again and the status read from the server."""
        channel = self.channel
        if not self._base_url():
            raise ConnectRefused(_("This installation has no Evolution API server: give your own server's address "
                                   "and API key."), code="validation_error", fields=("server_url",))
        if not _INSTANCE_NAME.match(self.instance or "x"):
            raise ConnectRefused(_("The instance name may only have letters, digits, dashes and underscores."),
                                 code="validation_error", fields=("instance_name",))
        if not channel.config.get("sandbox") and (refused := tenant_server_refused(
                str(channel.config.get("server_url") or ""))) is not None:
            raise ConnectRefused(refused.message, code=refused.code, fields=("server_url",))
        channel.config.setdefault("integration", QR_PAIRING)
        if self.cloud_api:
            self._check_with_meta()  # before anything is created at Evolution
        if not self.instance:
            channel.config["instance"] = self._default_instance_name()
        if not channel.credentials.get("webhook_secret"):
            channel.credentials["webhook_secret"] = secrets.token_urlsafe(32)
        if channel.credentials.get("instance_token"):
            self._set_webhook(created_now=False)
            try:
                self._show(self.connection_state())
            except ProviderPermanentError as error:
                raise ConnectRefused(error.message, code="provider_rejected", fields=("instance_name",)) from None
            return
        qr_code = self._create_instance()
        self._set_webhook(created_now=True)
        self._show(qr_code or ConnectionUpdate(status=Channel.Status.CONNECTING))

    def _check_with_meta(self) -> None:
        """The Cloud API mode's token and phone number id, checked with Meta by the WhatsApp Cloud
        provider's own check (the registry is the door: providers import no other provider);
        what Meta says of the number kept. Meta's refusal in the Cloud provider's words."""
        config, credentials = self.channel.config, self.channel.credentials
        given = {"access_token": str(credentials.get("access_token") or "").strip(),
                 "phone_number_id": str(config.get("phone_number_id") or "").strip(),
                 "business_account_id": str(config.get("business_account_id") or "").strip()}
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise ConnectRefused(_("Missing for the WhatsApp Cloud API through Evolution: %(names)s.")
                                 % {"names": ", ".join(missing)}, code="validation_error", fields=tuple(missing),
                                 details={"missing": missing})
        check = _cloud_api_check(self.network)
        if check is None:
            raise ConnectRefused(_("This installation does not serve the WhatsApp Cloud API, which checks the token "
                                   "with Meta: choose QR code pairing."), code="provider_rejected",
                                 fields=("pairing",))
        try:
            info = check(given["phone_number_id"], given["access_token"], sandbox=bool(config.get("sandbox")))
        except ConnectRefused as refused:
            field = "access_token" if refused.code == "provider_auth_failed" else "phone_number_id"
            raise ConnectRefused(refused.message, code=refused.code, fields=(field,),
                                 details=refused.details) from None
        display = re.sub(r"\D", "", str(info.get("display_phone_number") or ""))
        if display:
            config["phone"] = f"+{display}"
        if info.get("verified_name"):
            config["verified_name"] = str(info["verified_name"])

    def _default_instance_name(self) -> str:
        tenant = self.channel.tenant if self.channel.tenant_id else None
        parts = [tenant.slug if tenant is not None else "", slugify(self.channel.name)]
        return "-".join(part for part in parts if part)[:90] or f"inbox-{secrets.token_hex(3)}"

    def _webhook(self) -> dict[str, Any]:
        return {"enabled": True, "url": self.channel.webhook_url, "byEvents": False,
                # Media are fetched when needed, not pushed in every webhook: a large file's
                # body would exceed what the webhook endpoint accepts (WEBHOOK_MAX_BODY_BYTES),
                # and Evolution drops a webhook after its retries.
                "base64": False,
                "headers": {SECRET_HEADER: str(self.channel.credentials["webhook_secret"]),
                            "Content-Type": "application/json"},
                "events": list(SUBSCRIBED)}

    def _create_instance(self) -> ConnectionUpdate | None:
        """POST /instance/create; the instance's token kept. The first QR code, if it came."""
        admin = self._admin_server()
        if not admin.api_key and self.channel.config.get("server_url"):
            raise ConnectRefused(_("Give your Evolution API server's API key."), code="validation_error",
                                 fields=("api_key",))
        if not admin.api_key:
            raise ConnectRefused(_("This installation's Evolution API server has no API key configured: give your "
                                   "own server's address and API key."), code="validation_error",
                                 fields=("api_key",))
        config = self.channel.config
        body = {"instanceName": self.instance, "integration": config.get("integration") or QR_PAIRING,
                "qrcode": not self.cloud_api, "rejectCall": False, "groupsIgnore": not config.get("groups"),
                "alwaysOnline": False, "readMessages": False, "readStatus": False, "syncFullHistory": False,
                "webhook": self._webhook()}
        if self.cloud_api:  # Meta's token becomes the instance's own (Evolution's `hash`)
            body.update(token=str(self.channel.credentials["access_token"]), number=str(config["phone_number_id"]),
                        businessId=str(config["business_account_id"]))
        answer = admin.call("POST", "instance/create", body=body, timeout=SLOW_TIMEOUT)
        if answer.status == 401:
            raise ConnectRefused(_("The Evolution API server refused the API key."), code="provider_auth_failed",
                                 fields=("api_key",))
        if answer.status == 403:
            raise ConnectRefused(_("The instance name %(name)s is already in use on the Evolution API server: choose "
                                   "another one.") % {"name": self.instance}, code="provider_rejected",
                                 fields=("instance_name",))
        self._refuse_unless_ok(answer)
        found = answer.body if isinstance(answer.body, dict) else {}
        token = found.get("hash")
        if isinstance(token, dict):  # Evolution before 2.2: {"hash": {"apikey": ...}}
            token = token.get("apikey")
        if not isinstance(token, str) or not token:
            raise ConnectRefused(_("The Evolution API server created the instance without its token: is it Evolution "
                                   "API v2?"), code="provider_rejected", fields=("server_url",))
        self.channel.credentials["instance_token"] = token
        created: dict[str, Any] = found["instance"] if isinstance(found.get("instance"), dict) else {}
        if created.get("instanceId"):
            config["instance_id"] = str(created["instanceId"])
        if self.cloud_api:
            # Where Meta must post the number's events for Evolution to relay them here, and the
            # verify token Meta's console asks for with it (Evolution's WA_BUSINESS_TOKEN_WEBHOOK).
            if created.get("webhookWaBusiness"):
                config["meta_webhook_url"] = str(created["webhookWaBusiness"])
            if created.get("accessTokenWaBusiness"):
                self.channel.credentials["meta_webhook_verify_token"] = str(created["accessTokenWaBusiness"])
        qrcode = found.get("qrcode")
        if isinstance(qrcode, dict) and (update := _pairing(qrcode)) is not None:
            return update
        # Cloud API mode: open at once (Evolution's BusinessStartupService starts so).
        return _state("open") if created.get("status") == "open" else None

    def _set_webhook(self, *, created_now: bool) -> None:
        """POST /webhook/set: also after a create that carried the webhook, for servers older
        than 2.2 that ignore it there. A failure right after creating the instance removes it
        again, so that connecting again can reuse its name."""
        try:
            answer = self._server().call("POST", f"webhook/set/{self.instance}", body={"webhook": self._webhook()})
            self._refuse_unless_ok(answer)
        except (ConnectRefused, ProviderError):
            if created_now:
                try:
                    self.remove()
                except ProviderError:
                    pass
                self.channel.credentials.pop("instance_token", None)
            raise

    @staticmethod
    def _refuse_unless_ok(answer: Answer) -> None:
        if answer.ok:
            return
        if answer.license_required:
            raise ConnectRefused(_("The Evolution API server is not activated: its administrator must activate its "
                                   "licence (Evolution 2.4 and later) first."), code="provider_rejected",
                                 fields=("server_url",))
        if answer.status in (401, 403):
            raise ConnectRefused(_("The Evolution API server refused the API key."), code="provider_auth_failed",
                                 fields=("api_key",))
        if answer.status == 429 or answer.status >= 500:
            raise ProviderTemporaryError(answer.text or f"HTTP {answer.status}", code=f"http_{answer.status}")
        raise ConnectRefused(_("The Evolution API server refused the channel."), code="provider_rejected",
                             fields=("server_url",),
                             details={"provider_message": f"HTTP {answer.status}: {answer.text or '-'}"})

    def _show(self, update: ConnectionUpdate) -> None:
        """The state the channel is saved with (the pipeline's updates take over from there;
        the QR code kept as channels_app.services.channel_pairing_update keeps it)."""
        channel = self.channel
        channel.status, channel.status_detail = update.status, update.detail
        codes = {"qr_code": update.qr_code, "qr_image": update.qr_image, "pairing_code": update.pairing_code}
        channel.config["pairing"] = {**codes, "at": timezone.now().isoformat()} if any(codes.values()) else {}
        if update.phone:
            channel.config["phone"] = update.phone

    # --- pairing --------------------------------------------------------------------
    def pair(self, *, phone: str = "") -> ConnectionUpdate:
        if self.cloud_api:  # no phone to pair, no QR code: the state Evolution reports
            update = self.connection_state()
            if update.status != Channel.Status.CONNECTED:
                raise ProviderPermanentError(_("This number uses the WhatsApp Cloud API through Evolution: there is no "
                                               "QR code to scan. Evolution reports its instance closed: restart the "
                                               "connection, or check the instance on the Evolution API server."),
                                             code="cloud_api_no_qr")
            return update
        number = re.sub(r"\D", "", phone)
        update = _connect_answer(self._call("GET", "instance/connect", query={"number": number} if number else None))
        if number and update.status == Channel.Status.QR_PENDING and not update.pairing_code:
            # Evolution makes a code for a number only when a session starts: one was waiting
            # for a scan already, so it is ended and started again for this number.
            self.disconnect()
            update = _connect_answer(self._call("GET", "instance/connect", query={"number": number}))
        return update

    def connection_state(self) -> ConnectionUpdate:
        answer = self._call("GET", "instance/connectionState")
        update = _state((answer.get("instance") or {}).get("state") if isinstance(answer, dict) else None)
        if self.cloud_api and update.status == Channel.Status.DISCONNECTED:
            return ConnectionUpdate(status=update.status, detail="Evolution reports the Cloud API instance closed.")
        return update

    def disconnect(self) -> None:
        if self.cloud_api:  # Evolution's logout of a Cloud API instance closes it for good (until it restarts)
            raise ProviderPermanentError(_("A number on the WhatsApp Cloud API is not linked to a phone: there is "
                                           "nothing to disconnect. Archive the channel to stop using it."),
                                         code="cloud_api_no_phone")
        try:
            self._call("DELETE", "instance/logout")
        except ProviderPermanentError as error:
            if "not connected" not in error.message:  # logged out already: done
                raise

    def restart(self) -> None:
        _connect_answer(self._call("POST", "instance/restart"))

    def sandbox_scan(self, *, phone: str) -> None:
        if not self.channel.config.get("sandbox"):
            super().sandbox_scan(phone=phone)
        EvolutionServer(SANDBOX_URL.value, "").call("POST", "_sim/scan",
                                                    body={"instance": self.instance, "phone": phone.lstrip("+")})

    def remove(self) -> None:
        if not self.instance or not self.channel.credentials.get("instance_token"):
            return
        try:
            self._call("DELETE", "instance/delete")
        except ProviderPermanentError as error:
            if error.code not in ("instance_not_found", "unauthorized"):  # gone already: done
                raise

    def setup_steps(self) -> list[SetupStep]:
        config = self.channel.config
        steps = self._cloud_api_steps() if self.cloud_api else [
            SetupStep(_("How to pair"), _("On the phone: WhatsApp → Settings → Linked devices → Link a device, then "
                                          "scan the QR code shown on this page."))]
        steps += [
            SetupStep(_("Instance"), str(config.get("instance", ""))),
            SetupStep(_("Server"), str(config.get("server_url") or _("this installation's Evolution API server"))),
            SetupStep(_("Webhook URL (set on the instance when the channel was connected)"), self.channel.webhook_url,
                      copy=True),
        ]
        if self.channel.credentials.get("webhook_secret"):
            steps.append(SetupStep(_("Webhook header %(header)s") % {"header": SECRET_HEADER},
                                   str(self.channel.credentials["webhook_secret"]), secret=True, copy=True))
        if config.get("phone"):
            steps.append(SetupStep(_("Number"), str(config["phone"])))
        if config.get("sandbox"):
            steps.append(SetupStep(_("Sandbox"), _("This channel talks to the local Evolution API simulator "
                                                   "(manage.py simulator whatsapp_evolution), not to WhatsApp.")))
        return steps

    def _cloud_api_steps(self) -> list[SetupStep]:
        """Meta posts the number's events to Evolution, which relays them here: Meta's console
        needs Evolution's address and verify token, not this channel's."""
        config, credentials = self.channel.config, self.channel.credentials
        steps = [SetupStep(_("Connection"), _("WhatsApp Cloud API through Evolution: no phone to pair. In Meta's App "
                                              "Dashboard → WhatsApp → Configuration → Webhook, give Evolution's "
                                              "callback URL and verify token below and subscribe to \"messages\"; "
                                              "Evolution relays Meta's events to this channel."))]
        if config.get("meta_webhook_url"):
            steps.append(SetupStep(_("Callback URL (Evolution's)"), str(config["meta_webhook_url"]), copy=True))
        if credentials.get("meta_webhook_verify_token"):
            steps.append(SetupStep(_("Verify token (Evolution's)"), str(credentials["meta_webhook_verify_token"]),
                                   secret=True, copy=True))
        steps.append(SetupStep(_("Phone number ID"), str(config.get("phone_number_id", ""))))
        return steps

    @classmethod
    def demo_channels(cls, *, tenant_slug: str, tenant_name: str, number: int) -> list[DemoChannel]:
        """One number paired by QR code, in sandbox mode: it talks to the local simulator
        (manage.py simulator whatsapp_evolution --sandbox-channels), never to WhatsApp."""
        return [DemoChannel(
            role="phone", name="WhatsApp Celular",
            config={"instance": f"demo-{tenant_slug}", "integration": QR_PAIRING, "groups": False,
                    "phone": f"+5511955{number:06d}", "demo": True, "sandbox": True},
            credentials={"instance_token": f"DEMO-{tenant_slug}-instance-token",
                         "webhook_secret": f"demo-webhook-secret-{tenant_slug}"},
        )]


def _cloud_api_check(network: str) -> Callable[..., Mapping[str, Any]] | None:
    """The Cloud API provider's check of a number and token with Meta (`check_number(phone_number_id,
    access_token, sandbox=...)`): the registered provider of this network that has one. Asked of
    the registry, as providers import no other provider."""
    for adapter in adapter_classes().values():
        check: Callable[..., Mapping[str, Any]] | None = getattr(adapter, "check_number", None)
        if adapter.network == network and check is not None:
            return check
    return None


def _meta_refusal(network: str, error: Mapping[str, Any]) -> ProviderError:
    """Meta's refusal of a message, read by the Cloud API provider (asked of the registry, as
    providers import no other provider); Meta's own words when none is registered."""
    for adapter in adapter_classes().values():
        read: Callable[[Mapping[str, Any]], ProviderError] | None = getattr(adapter, "refusal", None)
        if adapter.network == network and read is not None and adapter is not WhatsAppEvolutionAdapter:
            return read(error)
    return ProviderPermanentError(str(error.get("message") or "Meta refused the message.")[:400], code="http_400")


def _pairing(qrcode: Mapping[str, Any]) -> ConnectionUpdate | None:
    """A QR code (or pairing code) Evolution answered, if it has one yet ({"count": 0}: not yet)."""
    code, image, pairing_code = (qrcode.get("code"), qrcode.get("base64"), qrcode.get("pairingCode"))
    if not code and not pairing_code:
        return None
    return ConnectionUpdate(status=Channel.Status.QR_PENDING, qr_code=str(code or ""),
                            qr_image=image if isinstance(image, str) and image.startswith("data:image/png") else "",
                            pairing_code=str(pairing_code or ""))


def _state(state: Any) -> ConnectionUpdate:
    if state == "open":
        return ConnectionUpdate(status=Channel.Status.CONNECTED)
    if state == "connecting":
        return ConnectionUpdate(status=Channel.Status.CONNECTING)
    return ConnectionUpdate(status=Channel.Status.DISCONNECTED, detail="Not paired with a phone.")


def _connect_answer(answer: Any) -> ConnectionUpdate:
    """GET /instance/connect (and POST /instance/restart): a QR code, the state when already
    paired, or Evolution's error, which it answers with HTTP 200 ({"error": true, ...})."""
    if not isinstance(answer, dict):
        raise ProviderTemporaryError("Evolution API answered without a QR code or state.", code="bad_answer")
    if answer.get("error") is True:
        raise ProviderPermanentError(str(answer.get("message") or "Evolution API could not connect the instance."),
                                     code="connect_failed")
    if isinstance(answer.get("instance"), dict):
        return _state(answer["instance"].get("state") or answer["instance"].get("status"))
    return _pairing(answer) or ConnectionUpdate(status=Channel.Status.CONNECTING,
                                                detail="Waiting for the QR code from WhatsApp.")
