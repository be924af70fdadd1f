from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from channels_app.kinds import ChannelKind, kind_choices, kind_of
from config.crypto import EncryptedJSONField, Secrets
from config.ids import uuid7
from config.public_url import public_base_url
from tenants.scoping import TenantScopedModel


def _new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


class Channel(TenantScopedModel):
    """One connected inbox of a tenant: a phone number, a page, a mailbox..."""

    class Status(models.TextChoices):
        INACTIVE = "INACTIVE", _("Inactive")
        CONNECTING = "CONNECTING", _("Connecting")
        QR_PENDING = "QR_PENDING", _("Waiting for QR scan")
        CONNECTED = "CONNECTED", _("Connected")
        DISCONNECTED = "DISCONNECTED", _("Disconnected")
        ERROR = "ERROR", _("Error")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    # The kinds are the providers the integrations registry lists (channels_app.kinds).
    kind = models.CharField(_("kind"), max_length=32, choices=kind_choices)
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.INACTIVE)
    status_detail = models.CharField(_("status detail"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    credentials = EncryptedJSONField(_("credentials"), default=Secrets, blank=True)
    # Secret part of the webhook URL: identifies the channel without revealing its id.
    webhook_token = models.CharField(max_length=64, unique=True, default=_new_webhook_token, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["name", "id"]
        permissions = [("work_channel", "Can work the conversations of this channel")]
        indexes = [models.Index(fields=["tenant", "kind"]), models.Index(fields=["tenant", "archived_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def kind_info(self) -> ChannelKind:
        """What the core knows of this channel's kind (its capabilities)."""
        return kind_of(self.kind)

    def __repr__(self) -> str:
        return f"<Channel {self.pk} {self.kind} tenant={self.tenant_id}>"

    @property
    def webhook_url(self) -> str:
        return f"{public_base_url()}/webhooks/{self.kind}/{self.webhook_token}"


class ChannelUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's per-channel permissions of users, with a real foreign key so that
    "the channels this agent works" is a join, not a scan of generic object ids."""

    content_object = models.ForeignKey(Channel, on_delete=models.CASCADE)


class ChannelGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Channel, on_delete=models.CASCADE)


class MessageTemplate(TenantScopedModel):
    """A provider-approved message a business may send outside the reply window, as last
    synced from the provider (kinds whose provider keeps templates)."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(_("name"), max_length=512)
    language = models.CharField(_("language"), max_length=16)
    category = models.CharField(_("category"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    body = models.TextField(_("body"), blank=True)
    parameter_count = models.PositiveSmallIntegerField(default=0)
    components = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name", "language"], name="template_unique_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def is_usable(self) -> bool:
        return self.status == "APPROVED"

    def render(self, parameters: list[str]) -> str:
        text = self.body
        for index, value in enumerate(parameters, start=1):
            text = text.replace("{{" + str(index) + "}}", value)
        return text
