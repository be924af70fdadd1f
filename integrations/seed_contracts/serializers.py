"""The seeds' bodies, in their own (camelCase) field names. Seed 004's integrations use seed
000's names: its documents name the same things (see the package's docstring)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels_app.models import Channel
from config.api.serializers import StrictCharField
from integrations.pairing import pairing_qr_png
from integrations.seed_contracts.kinds import DEFAULT_TYPE, SEED_TYPES, seed_type_of

SEED_TYPE_CHOICES = [(name, name) for name in SEED_TYPES]
SEED_TYPE_HELP = ("OFFICIAL: Meta's Cloud API; EVOLUTION: a number paired by QR code through an Evolution API "
                  "server; BAILEYS: one paired by QR code through a connection service.")
QR_CODE_SCHEMA = {"type": ["string", "null"],
                  "description": "The QR code to scan with the phone (WhatsApp → Linked devices), a data: URL of a "
                                 "PNG (data:image/png;base64,...); null when none is waiting."}
PAIRING_CODE_SCHEMA = {"type": ["string", "null"],
                       "description": "A code to type on the phone instead of scanning, when the provider gave one."}
PHONE_SCHEMA = {"type": ["string", "null"], "description": "The number, E.164 (+5511987654321); null when not known."}


def _pairing(channel: Channel) -> dict[str, Any]:
    return channel.config.get("pairing") or {}


def _phone(channel: Channel) -> str | None:
    return str(channel.config.get("phone") or "") or None


class InstanceCreateInput(serializers.Serializer[dict[str, Any]]):
    name = StrictCharField(max_length=120, help_text="The number's name in the inbox.")
    phoneNumber = StrictCharField(max_length=40, help_text="The number, E.164 (422 invalid_phone when it is none).")
    type = serializers.ChoiceField(choices=SEED_TYPE_CHOICES, default=DEFAULT_TYPE, help_text=SEED_TYPE_HELP)
    serverUrl = StrictCharField(
        max_length=500, required=False, allow_blank=True,
        help_text="EVOLUTION and BAILEYS: your own server's address (with apiToken); empty: this installation's.")
    apiToken = StrictCharField(max_length=500, required=False, allow_blank=True, write_only=True,
                               help_text="EVOLUTION and BAILEYS: your server's global API key. Stored encrypted.")
    phoneNumberId = StrictCharField(max_length=30, required=False, allow_blank=True,
                                    help_text="OFFICIAL: the Cloud API's phone number id.")
    businessAccountId = StrictCharField(max_length=30, required=False, allow_blank=True,
                                        help_text="OFFICIAL: the WhatsApp Business Account id.")
    accessToken = StrictCharField(max_length=4096, required=False, allow_blank=True, write_only=True,
                                  help_text="OFFICIAL: the access token. Stored encrypted.")
    appSecret = StrictCharField(max_length=256, required=False, allow_blank=True, write_only=True,
                                help_text="OFFICIAL: the app secret (webhook signatures). Stored encrypted.")


class InstanceUpdateInput(serializers.Serializer[dict[str, Any]]):
    name = StrictCharField(max_length=120)


class InstanceOutput(serializers.Serializer[Channel]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    name = serializers.CharField(read_only=True)
    phoneNumber = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Channel.Status.choices, read_only=True)
    statusDetail = serializers.CharField(source="status_detail", read_only=True)
    qrcode = serializers.SerializerMethodField()
    pairingCode = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    @extend_schema_field(PHONE_SCHEMA)
    def get_phoneNumber(self, channel: Channel) -> str | None:  # noqa: N802 - DRF names it after the field
        return _phone(channel)

    @extend_schema_field({"type": "string", "enum": list(SEED_TYPES), "description": SEED_TYPE_HELP})
    def get_type(self, channel: Channel) -> str:
        return seed_type_of(channel.kind)

    @extend_schema_field(QR_CODE_SCHEMA)
    def get_qrcode(self, channel: Channel) -> str | None:
        return pairing_qr_png(channel) or None

    @extend_schema_field(PAIRING_CODE_SCHEMA)
    def get_pairingCode(self, channel: Channel) -> str | None:  # noqa: N802
        return str(_pairing(channel).get("pairing_code") or "") or None


class InstanceQrCodeOutput(serializers.Serializer[Channel]):
    qrcode = serializers.SerializerMethodField()
    pairingCode = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Channel.Status.choices, read_only=True)

    @extend_schema_field(QR_CODE_SCHEMA)
    def get_qrcode(self, channel: Channel) -> str | None:
        return pairing_qr_png(channel) or None

    @extend_schema_field(PAIRING_CODE_SCHEMA)
    def get_pairingCode(self, channel: Channel) -> str | None:  # noqa: N802
        return str(_pairing(channel).get("pairing_code") or "") or None


class InstanceStatusOutput(serializers.Serializer[Channel]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=Channel.Status.choices, read_only=True)
    statusDetail = serializers.CharField(source="status_detail", read_only=True)
    connected = serializers.SerializerMethodField()
    phoneNumber = serializers.SerializerMethodField()
    updatedAt = serializers.DateTimeField(source="status_changed_at", read_only=True, allow_null=True,
                                          help_text="When the status last changed.")

    def get_connected(self, channel: Channel) -> bool:
        return channel.status == Channel.Status.CONNECTED

    @extend_schema_field(PHONE_SCHEMA)
    def get_phoneNumber(self, channel: Channel) -> str | None:  # noqa: N802
        return _phone(channel)


class InstanceMessageInput(serializers.Serializer[dict[str, Any]]):
    contactPhone = StrictCharField(max_length=40, help_text="Whom to write to, E.164 (422 invalid_phone).")
    text = StrictCharField(max_length=10_000, required=False, allow_blank=True, trim_whitespace=False, default="",
                           help_text="The message (with mediaUrl: its caption, if caption is not given).")
    mediaUrl = StrictCharField(
        max_length=2048, required=False, allow_blank=True, default="",
        help_text="A file to send, fetched from this public http(s) URL as the API's media_url is (422 "
                  "media_url_refused, with the reason).")
    caption = StrictCharField(max_length=10_000, required=False, allow_blank=True, trim_whitespace=False, default="",
                              help_text="The file's caption.")


class WhatsAppProviderHealth(serializers.Serializer[dict[str, Any]]):
    type = serializers.ChoiceField(choices=SEED_TYPE_CHOICES)
    kind = serializers.CharField(help_text="The channel kind that serves it here.")
    available = serializers.BooleanField(help_text="A provider of this installation serves it.")
    sharedServer = serializers.BooleanField(
        help_text="This installation provides its server: a number of this type needs nothing but a name.")


class WhatsAppInstanceHealth(serializers.Serializer[Channel]):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    type = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Channel.Status.choices)

    @extend_schema_field({"type": "string", "enum": list(SEED_TYPES)})
    def get_type(self, channel: Channel) -> str:
        return seed_type_of(channel.kind)


class WhatsAppHealthOutput(serializers.Serializer[dict[str, Any]]):
    providers = WhatsAppProviderHealth(many=True)
    instances = WhatsAppInstanceHealth(many=True, help_text="The account's WhatsApp numbers (those your role sees).")


# --- seed 001 ---------------------------------------------------------------------------------


class ConnectOutput(serializers.Serializer[Channel]):
    success = serializers.SerializerMethodField()
    sessionId = serializers.UUIDField(source="public_id", read_only=True,
                                      help_text="The number's id (a channel id of the API).")
    qrCode = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Channel.Status.choices, read_only=True)

    def get_success(self, channel: Channel) -> bool:
        return True

    @extend_schema_field(QR_CODE_SCHEMA)
    def get_qrCode(self, channel: Channel) -> str | None:  # noqa: N802
        return pairing_qr_png(channel) or None


class ConnectionStatusOutput(serializers.Serializer[Channel]):
    connected = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Channel.Status.choices, read_only=True)
    phoneNumber = serializers.SerializerMethodField()
    qrCode = serializers.SerializerMethodField()
    lastActivity = serializers.SerializerMethodField()

    def get_connected(self, channel: Channel) -> bool:
        return channel.status == Channel.Status.CONNECTED

    @extend_schema_field(PHONE_SCHEMA)
    def get_phoneNumber(self, channel: Channel) -> str | None:  # noqa: N802
        return _phone(channel)

    @extend_schema_field(QR_CODE_SCHEMA)
    def get_qrCode(self, channel: Channel) -> str | None:  # noqa: N802
        return pairing_qr_png(channel) or None

    @extend_schema_field({"type": ["string", "null"], "format": "date-time",
                          "description": "When something last happened on the number."})
    def get_lastActivity(self, channel: Channel) -> str | None:  # noqa: N802
        moment = self.context.get("last_activity")
        return serializers.DateTimeField().to_representation(moment) if moment else None


class DisconnectOutput(serializers.Serializer[Channel]):
    success = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Channel.Status.choices, read_only=True)

    def get_success(self, channel: Channel) -> bool:
        return True


class SendMessageInput(serializers.Serializer[dict[str, Any]]):
    message = StrictCharField(max_length=10_000, required=False, allow_blank=True, trim_whitespace=False, default="",
                              help_text="The reply's text.")
    content = StrictCharField(max_length=10_000, required=False, allow_blank=True, trim_whitespace=False, default="",
                              help_text="The reply's text, when `message` is not given.")


# --- webhooks ---------------------------------------------------------------------------------


class ReceivedOutput(serializers.Serializer[dict[str, Any]]):
    received = serializers.BooleanField()
