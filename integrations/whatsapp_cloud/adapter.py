"""WhatsApp Cloud API (Meta's Graph API): the adapter. Meta's wire format, headers, error
codes, settings, forms and demo numbers stay in this package."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

import urllib3
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from urllib3.exceptions import HTTPError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError

from conversations.incoming import IncomingMessage, IncomingStatus
from integrations.base import (
    AccountUpdates,
    Capabilities,
    ChannelAdapter,
    ConnectRefused,
    DemoChannel,
    MediaFile,
    OutboundMessage,
    ProviderAuthError,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderSetting,
    ProviderTemporaryError,
    ProviderUnreachableError,
    SendResult,
    SetupStep,
    Template,
    WebhookBatch,
    WebhookRejected,
)
from integrations.http import Pools, unreachable_reason
from integrations.whatsapp_cloud.forms import AccessTokenForm, WhatsAppCloudForm

SIGNATURE_HEADER = "X-Hub-Signature-256"
# (connect, read) seconds of one call, and the most a call may take in all: less than the
# pipeline's claim on a reply (OUTBOUND_SEND_LEASE_SECONDS).
TIMEOUT = (3.05, 15)
TOTAL_TIMEOUT = 20.0
GRAPH_API_URL = ProviderSetting("WHATSAPP_GRAPH_API_URL", "https://graph.facebook.com",
                                "Where the WhatsApp Cloud API lives (point it at the simulator to test).")
GRAPH_API_VERSION = ProviderSetting("WHATSAPP_GRAPH_API_VERSION", "v21.0", "Graph API version in the URLs.")
SANDBOX_URL = ProviderSetting("WHATSAPP_SANDBOX_URL", "http://127.0.0.1:8081",
                              "Where sandbox channels (config sandbox: true) send: the local simulator.")
_STATUSES = {"sent": "SENT", "delivered": "DELIVERED", "read": "READ", "played": "READ", "failed": "FAILED"}
_MEDIA = {"image": "IMAGE", "video": "VIDEO", "audio": "AUDIO", "document": "DOCUMENT", "sticker": "STICKER"}
# Meta's codes that mean "later" rather than "never" (throughput, pair rate, spam rate,
# temporary service trouble); 0 and 190 are authentication.
_TEMPORARY = {4, 80007, 130429, 131056, 131048, 131000, 131016, 2, 1, 133004}
_AUTH = {0, 190}
# What an agent reads when a message fails (Meta's titles are terse).
EXPLANATIONS = {
    131047: "More than 24 hours passed since the customer's last message: send an approved template.",
    131026: "WhatsApp could not deliver this message (the number may not be on WhatsApp, or uses an old app).",
    131049: "WhatsApp held this marketing message back to keep the customer's experience healthy.",
    131050: "The customer stopped marketing messages from this business.",
    131051: "WhatsApp does not support this message type.",
    131052: "The customer's media could not be downloaded.",
    131053: "The media could not be uploaded.",
    131056: "Too many messages to this customer in a short time.",
    130429: "The number's sending limit was reached.",
    132000: "The template's parameters do not match the approved template.",
    132001: "This template does not exist in that language, or is not approved.",
    132012: "The template's parameters have the wrong format.",
    132015: "The template is paused for low quality.",
    132016: "The template is disabled for low quality.",
    131008: "A required parameter is missing.",
    131009: "A parameter value is invalid.",
    100: "A parameter value is invalid.",
    190: "The access token is invalid or expired: an admin must update the channel.",
    368: "The WhatsApp account is restricted for policy violations.",
    131031: "The WhatsApp account is locked.",
}
# Keep-alive connections to each Graph host, shared by the process's threads (integrations.http).
_pool = Pools(maxsize=32)


def _request(method: str, url: str, headers: Mapping[str, str], **kwargs: Any) -> urllib3.BaseHTTPResponse:
    """One request, never retried here (a send retried blindly could reach Meta twice: the
    pipeline decides), nor redirected."""
    timeout = urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1], total=TOTAL_TIMEOUT)
    return _pool(url).request(method, url, headers=dict(headers), timeout=timeout, retries=False,
                              redirect=False, **kwargs)


def signature_for(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _moment(timestamp: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (TypeError, ValueError):
        return None


def _phone(wa_id: str) -> str:
    return "+" + wa_id if wa_id and wa_id.isdigit() else ""


# The demo tenants' numbers as their customers know them (sales, support).
_DEMO_DISPLAYS = {1: ("+55 11 4004-1234", "+55 11 99876-1020"), 2: ("+55 21 3003-4455", "+55 21 98765-3040")}


# What connecting asks Meta of the number (messaging_limit_tier comes only when asked for).
NUMBER_FIELDS = "verified_name,display_phone_number,quality_rating,platform_type,throughput,messaging_limit_tier"
# Meta's messaging limit tiers: business-initiated conversations (unique customers) a rolling day.
MESSAGING_LIMIT_TIERS = {"TIER_50": 50, "TIER_250": 250, "TIER_1K": 1_000, "TIER_10K": 10_000, "TIER_100K": 100_000}


class WhatsAppCloudAdapter(ChannelAdapter):
    kind = "whatsapp_cloud"
    label = gettext_lazy("WhatsApp (Cloud API)")
    badge = "WA"
    network = "whatsapp"  # the same numbers as the gateways paired by QR code
    capabilities = Capabilities(
        # Meta's customer-service window: free replies up to 24 h after the contact's last message.
        reply_window=dt.timedelta(hours=24), templates=True, reactions=True, read_receipts=True,
        max_text_length=4096, max_media_bytes=16 * 1024 * 1024,
        media_types=frozenset({"image/jpeg", "image/png", "video/mp4", "video/3gpp", "audio/*", "application/*",
                               "text/plain"}),
    )
    settings = (GRAPH_API_URL, GRAPH_API_VERSION, SANDBOX_URL)
    default_throughput_per_second = 80.0
    form_class = WhatsAppCloudForm
    credentials_form_class = AccessTokenForm
    simulator = "integrations.whatsapp_cloud.simulator.command"
    api_urls = None  # Meta posts to the webhook endpoint every provider shares

    @property
    def phone_number_id(self) -> str:
        return str(self.channel.config.get("phone_number_id", ""))

    @property
    def account(self) -> str:
        return self.phone_number_id

    @property
    def waba_id(self) -> str:
        return str(self.channel.config.get("waba_id", ""))

    def _url(self, *parts: str) -> str:
        return self._graph_url(*parts, sandbox=bool(self.channel.config.get("sandbox")))

    @staticmethod
    def _graph_url(*parts: str, sandbox: bool = False) -> str:
        # A sandbox channel talks to the local simulator, whatever the installation's Graph URL.
        base = SANDBOX_URL.value if sandbox else GRAPH_API_URL.value
        return "/".join([base.rstrip("/"), GRAPH_API_VERSION.value, *parts])

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.channel.credentials.get('access_token', '')}"}

    # --- inbound -------------------------------------------------------------------
    def verify_handshake(self, query: Mapping[str, str]) -> str | None:
        expected = str(self.channel.credentials.get("verify_token", ""))
        given = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not expected or not hmac.compare_digest(given, expected):
            return None
        challenge = query.get("hub.challenge", "")
        return challenge if re.fullmatch(r"[\w.-]{1,128}", challenge) else None

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        secret = str(self.channel.credentials.get("app_secret", ""))
        given = headers.get(SIGNATURE_HEADER, "")
        if not secret or not given or not hmac.compare_digest(given.lower(), signature_for(body, secret)):
            raise WebhookRejected(f"missing or wrong {SIGNATURE_HEADER}")
        return given

    def parse_webhook(self, body: bytes) -> WebhookBatch:
        payload = json.loads(body)
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            raise ValueError("not a WhatsApp Business Account webhook")
        updates: list[AccountUpdates] = []
        errors: list[str] = []
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                if change.get("field") != "messages":
                    continue
                account = str((value.get("metadata") or {}).get("phone_number_id", "")) or self.phone_number_id
                names = {}
                for contact in value.get("contacts") or []:
                    key = contact.get("wa_id") or contact.get("user_id") or ""
                    names[key] = (contact.get("profile") or {}).get("name", "")
                updates.append(AccountUpdates(
                    account=account, messages=tuple(self._inbound(raw, names) for raw in value.get("messages") or []),
                    statuses=tuple(self._status(raw) for raw in value.get("statuses") or [])))
                errors += [f"{item.get('code')}: {item.get('title', '')}" for item in value.get("errors") or []]
        return WebhookBatch(updates=tuple(updates), errors=tuple(errors))

    def _inbound(self, raw: dict[str, Any], names: dict[str, str]) -> IncomingMessage:
        sender = raw.get("from") or raw.get("from_user_id") or ""
        if not sender or not raw.get("id"):
            raise ValueError("message without sender or id")
        kind = raw.get("type", "")
        value = raw.get(kind)
        body: dict[str, Any] = value if isinstance(value, dict) else {}
        attributes: dict[str, Any] = {"whatsapp_type": kind}
        content, message_type = "", "TEXT"
        if kind == "text":
            content = body.get("body", "")
        elif kind in _MEDIA:
            message_type = _MEDIA[kind]
            content = body.get("caption", "")
            attributes["media"] = {key: body[key] for key in ("id", "mime_type", "sha256", "filename", "voice",
                                                             "animated", "url") if key in body}
        elif kind == "location":
            message_type = "LOCATION"
            content = " · ".join(part for part in (body.get("name"), body.get("address")) if part)
            attributes["location"] = body
        elif kind == "contacts":
            message_type = "CONTACT"
            cards = raw.get("contacts") or []
            content = ", ".join((card.get("name") or {}).get("formatted_name", "") for card in cards)
            attributes["contacts"] = cards
        elif kind == "interactive":
            message_type = "INTERACTIVE"
            reply = body.get(body.get("type", ""), {}) if isinstance(body, dict) else {}
            content = reply.get("title", "")
            attributes["reply"] = reply
        elif kind == "button":
            message_type = "INTERACTIVE"
            content = body.get("text", "")
            attributes["reply"] = {"id": body.get("payload", ""), "title": content}
        elif kind == "reaction":
            message_type = "REACTION"
            content = body.get("emoji", "")
            attributes["reaction"] = {"message_id": body.get("message_id", ""), "emoji": content,
                                      "removed": not content}
        else:
            message_type = "SYSTEM"
            attributes["unsupported"] = raw.get("errors") or [{"title": f"unsupported type {kind}"}]
            content = "[" + ((raw.get("errors") or [{}])[0].get("title") or "unsupported message") + "]"
        context = raw.get("context") or {}
        if context.get("forwarded") or context.get("frequently_forwarded"):
            attributes["forwarded"] = True
        username_id = raw.get("from_user_id")
        if username_id:
            attributes["business_scoped_user_id"] = username_id
        return IncomingMessage(
            provider_message_id=raw["id"], contact_external_id=sender,
            contact_name=names.get(sender, "") or names.get(username_id or "", ""),
            contact_phone=_phone(raw.get("from", "")), type=message_type, content=content,
            content_attributes=attributes, sent_at=_moment(raw.get("timestamp")),
            reply_to_provider_id=context.get("id"),
        )

    def _status(self, raw: dict[str, Any]) -> IncomingStatus:
        error = (raw.get("errors") or [{}])[0]
        code = error.get("code")
        explanation = EXPLANATIONS.get(code) if isinstance(code, int) else None
        detail = (error.get("error_data") or {}).get("details") or error.get("message") or error.get("title") or ""
        return IncomingStatus(
            provider_message_id=raw["id"], status=_STATUSES.get(raw.get("status", ""), "SENT"),
            at=_moment(raw.get("timestamp")), error_code=str(code) if code is not None else "",
            error_message=(explanation or detail)[:500], reference=str(raw.get("biz_opaque_callback_data") or ""),
        )

    # --- outbound ------------------------------------------------------------------
    def _post(self, url: str, *, json_body: Any = None, fields: Mapping[str, Any] | None = None,
              unsure_on_timeout: bool = False) -> dict[str, Any]:
        headers = self._headers()
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            kwargs: dict[str, Any] = {"body": json.dumps(json_body).encode()}
        else:
            kwargs = {"fields": dict(fields or {})}  # multipart/form-data
        return self._call("POST", url, headers, unsure_on_timeout=unsure_on_timeout, **kwargs)

    def _get(self, url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._call("GET", url, self._headers(), fields=dict(params) if params else None)

    @classmethod
    def _call(cls, method: str, url: str, headers: Mapping[str, str], *, unsure_on_timeout: bool = False,
              **kwargs: Any) -> dict[str, Any]:
        """One call to the Graph API. `unsure_on_timeout`: the call sends a message, so a request
        that went out unanswered may have been taken (ProviderOutcomeUnknown)."""
        try:
            response = _request(method, url, headers, **kwargs)
        except NewConnectionError as error:  # (a subclass of urllib3's timeout, for history's sake)
            raise ProviderUnreachableError(f"WhatsApp could not be reached ({unreachable_reason(error)})") from None
        except ReadTimeoutError:
            if unsure_on_timeout:
                raise ProviderOutcomeUnknown("WhatsApp did not answer in time.", code="timeout") from None
            raise ProviderTemporaryError("WhatsApp did not answer in time.", code="timeout") from None
        except HTTPTimeoutError:
            raise ProviderTemporaryError("WhatsApp did not answer in time.", code="timeout") from None
        except (HTTPError, OSError) as error:
            raise ProviderUnreachableError(f"WhatsApp could not be reached ({unreachable_reason(error)})") from None
        return cls._answer(response.status, response.data)

    @staticmethod
    def _answer(status: int, data: bytes) -> dict[str, Any]:
        try:
            body = json.loads(data)
        except ValueError:
            body = {}
        if status < 400 and isinstance(body, dict) and "error" not in body:
            return body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code")
        title = error.get("message") or f"HTTP {status}"
        detail = (error.get("error_data") or {}).get("details", "")
        message = EXPLANATIONS.get(code, "") if isinstance(code, int) else ""
        message = message or (f"{title}: {detail}" if detail else title)
        code_text = str(code) if code is not None else f"http_{status}"
        if code in _AUTH:
            raise ProviderAuthError(message, code=code_text)
        if code in _TEMPORARY or status >= 500 or status == 429:
            retry_after = 6.0 if code == 131056 else None
            raise ProviderTemporaryError(message, code=code_text, retry_after=retry_after)
        raise ProviderPermanentError(message, code=code_text)

    def send(self, message: OutboundMessage) -> SendResult:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": message.to}
        attributes = dict(message.content_attributes)
        if message.type == "TEMPLATE":
            template = attributes.get("template") or {}
            components = template.get("components")
            if components is None:
                parameters = [{"type": "text", "text": str(value)} for value in template.get("parameters", [])]
                components = [{"type": "body", "parameters": parameters}] if parameters else []
            body["type"] = "template"
            body["template"] = {"name": template.get("name", ""),
                                "language": {"code": template.get("language", "pt_BR")},
                                **({"components": components} if components else {})}
        elif message.type == "INTERACTIVE" and isinstance(attributes.get("interactive"), dict):
            body["type"] = "interactive"
            body["interactive"] = attributes["interactive"]
        elif message.type == "REACTION":
            body["type"] = "reaction"
            body["reaction"] = {"message_id": message.reply_to_provider_id or "", "emoji": message.content}
        elif message.attachments:
            attachment = message.attachments[0]
            kind = {"IMAGE": "image", "VIDEO": "video", "AUDIO": "audio"}.get(message.type, "document")
            media_id = self.upload_media(attachment)
            media: dict[str, Any] = {"id": media_id}
            if message.content and kind != "audio":
                media["caption"] = message.content
            if kind == "document":
                media["filename"] = attachment.get("file_name", "file")
            body["type"] = kind
            body[kind] = media
        else:
            body["type"] = "text"
            body["text"] = {"preview_url": False, "body": message.content}
        if message.reply_to_provider_id and message.type != "REACTION":
            body["context"] = {"message_id": message.reply_to_provider_id}
        if message.reference:  # echoed back in the message's status webhooks
            body["biz_opaque_callback_data"] = message.reference
        answer = self._post(self._url(self.phone_number_id, "messages"), json_body=body, unsure_on_timeout=True)
        try:
            return SendResult(provider_message_id=answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise ProviderTemporaryError("WhatsApp answered without a message id.", code="bad_answer") from None

    def upload_media(self, attachment: Mapping[str, Any]) -> str:
        content_type = attachment.get("content_type") or "application/octet-stream"
        answer = self._post(self._url(self.phone_number_id, "media"), fields={
            "messaging_product": "whatsapp", "type": content_type,
            "file": (attachment.get("file_name", "file"), attachment["data"], content_type)})
        return str(answer["id"])

    def fetch_media(self, media: Mapping[str, Any]) -> MediaFile | None:
        """Meta's two steps: the media id gives a short-lived URL, which gives the bytes
        (with the same bearer token)."""
        media_id = str(media.get("id", ""))
        if not media_id.isdigit():
            return None
        info = self._get(self._url(media_id))
        try:
            response = _request("GET", info["url"], self._headers())
        except (KeyError, HTTPError, OSError) as error:
            raise ProviderTemporaryError(f"The media could not be downloaded: {type(error).__name__}",
                                         code="media") from None
        if response.status >= 400:
            raise ProviderTemporaryError(f"The media could not be downloaded (HTTP {response.status}).",
                                         code=f"http_{response.status}")
        content_type = str(info.get("mime_type") or media.get("mime_type") or "application/octet-stream")
        extension = content_type.split("/")[-1].split(";")[0].strip() or "bin"
        return MediaFile(data=response.data, content_type=content_type,
                         file_name=str(media.get("filename") or f"whatsapp-{media_id}.{extension}")[:255])

    def mark_read(self, provider_message_id: str) -> None:
        self._post(self._url(self.phone_number_id, "messages"),
                   json_body={"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id})

    # --- connecting ---------------------------------------------------------------
    _REQUIRED = {"config": ("phone_number_id", "waba_id"), "credentials": ("access_token", "app_secret")}

    def connect(self) -> None:
        """Check the number and token with Meta; keep what Meta says of the number."""
        channel = self.channel
        missing = [name for group, names in self._REQUIRED.items() for name in names
                   if not str((channel.config if group == "config" else channel.credentials).get(name, "")).strip()]
        if missing:
            groups = {group for group, names in self._REQUIRED.items() if set(names) & set(missing)}
            raise ConnectRefused(_("Missing: %(names)s.") % {"names": ", ".join(missing)}, code="validation_error",
                                 details={**{group: [_("This field is required.")] for group in groups},
                                          "missing": missing})
        if not channel.credentials.get("verify_token"):
            channel.credentials["verify_token"] = secrets.token_urlsafe(24)  # to paste into Meta
        info = self.check_number(self.phone_number_id, str(channel.credentials["access_token"]),
                                 sandbox=bool(channel.config.get("sandbox")))
        channel.config.update({key: info[key] for key in ("display_phone_number", "verified_name", "quality_rating",
                                                          "messaging_limit_tier") if key in info})
        channel.status, channel.status_detail = channel.Status.CONNECTED, ""

    @property
    def business_initiated_limit(self) -> int | None:
        """Meta's tier of the number (read when it connects): business-initiated conversations a day."""
        return MESSAGING_LIMIT_TIERS.get(str(self.channel.config.get("messaging_limit_tier", "")))

    @classmethod
    def refusal(cls, error: Mapping[str, Any]) -> ProviderError:
        """Meta's error object (the `error` of a Graph answer) as the contract's error, in the
        words an agent reads here. Public: a provider that drives the Cloud API for a number (a
        gateway in its Cloud API mode) and relays Meta's refusal asks it through the registry."""
        try:
            cls._answer(400, json.dumps({"error": dict(error)}).encode())
        except ProviderError as refused:
            return refused
        return ProviderPermanentError(str(error.get("message") or "Meta refused the message."), code="http_400")

    @classmethod
    def check_number(cls, phone_number_id: str, access_token: str, *, sandbox: bool = False) -> dict[str, Any]:
        """What Meta says of a phone number id for this token (display_phone_number,
        verified_name, quality_rating...), or ConnectRefused in an admin's words when Meta refuses
        the token or does not know the number. Public: a provider that drives the Cloud API for
        a number (a gateway in its Cloud API mode) asks it through the registry before it connects."""
        try:
            return cls._call("GET", cls._graph_url(phone_number_id, sandbox=sandbox) + f"?fields={NUMBER_FIELDS}",
                             {"Authorization": f"Bearer {access_token}"})
        except ProviderAuthError as error:
            raise ConnectRefused(
                _("Meta refused the access token (%(code)s): it is wrong, expired or lacks the "
                  "whatsapp_business_messaging permission.") % {"code": error.code},
                code="provider_auth_failed", details={"credentials": ["access_token"]}) from None
        except ProviderPermanentError as error:
            raise ConnectRefused(
                _("Meta does not know phone number id %(id)s for this token (%(code)s): check the id in "
                  "WhatsApp Manager.") % {"id": phone_number_id, "code": error.code},
                code="provider_rejected", details={"config": ["phone_number_id"]}) from None

    def setup_steps(self) -> list[SetupStep]:
        config = self.channel.config
        steps = [
            SetupStep(_("Where to paste these"), _("Meta's App Dashboard → WhatsApp → Configuration → Webhook; "
                                                  "subscribe to the \"messages\" field.")),
            SetupStep(_("Callback URL"), self.channel.webhook_url, copy=True),
        ]
        if self.channel.credentials.get("verify_token"):
            steps.append(SetupStep(_("Verify token"), str(self.channel.credentials["verify_token"]), secret=True,
                                   copy=True))
        if config.get("display_phone_number"):
            steps.append(SetupStep(_("Number"), f"{config['display_phone_number']} {config.get('verified_name', '')}"))
        if config.get("sandbox"):
            steps.append(SetupStep(_("Sandbox"), _("This channel talks to the local WhatsApp simulator "
                                                   "(manage.py simulator whatsapp_cloud), not to Meta.")))
        return steps

    @classmethod
    def demo_channels(cls, *, tenant_slug: str, tenant_name: str, number: int) -> list[DemoChannel]:
        """Two numbers of one WhatsApp Business Account, in sandbox mode: they talk to the local
        simulator (manage.py simulator whatsapp_cloud --sandbox-channels), never to Meta."""
        waba = f"100000000000{number}00"
        sales, support = _DEMO_DISPLAYS.get(number, (f"+55 11 4004-{1000 + number}", f"+55 11 99876-{1000 + number}"))
        return [DemoChannel(
            role=role, name=name, read_receipts=True, reply_window_error=("131047", EXPLANATIONS[131047]),
            config={"display_phone_number": display, "phone_number_id": f"100000000000{number}{suffix}",
                    "waba_id": waba, "verified_name": tenant_name, "demo": True, "sandbox": True,
                    "messaging_limit_tier": "TIER_1K"},
            credentials={"access_token": "DEMO-not-a-real-access-token", "app_secret": "demo-app-secret",
                         "verify_token": f"demo-verify-{tenant_slug}"},
        ) for role, name, suffix, display in (
            ("sales", "WhatsApp Vendas", "01", sales), ("support", "WhatsApp Suporte", "02", support))]

    def fetch_templates(self) -> list[Template]:
        templates: list[Template] = []
        url: str | None = self._url(self.waba_id, "message_templates")
        params: dict[str, Any] | None = {"limit": 100}
        while url and len(templates) < 1000:
            answer = self._get(url, params=params)
            for item in answer.get("data", []):
                body = next((c.get("text", "") for c in item.get("components", []) if c.get("type") == "BODY"), "")
                templates.append(Template(
                    name=item.get("name", ""), language=item.get("language", ""), category=item.get("category", ""),
                    status=item.get("status", ""), body=body,
                    parameter_count=len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", body))),
                    components=item.get("components", []),
                ))
            url, params = (answer.get("paging") or {}).get("next"), None
        return templates
