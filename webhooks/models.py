"""Outbound webhooks: the addresses a tenant's systems are told at (WebhookEndpoint) and each
event sent to one of them (WebhookDelivery, its log and its retry state)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.crypto import EncryptedJSONField, Secrets
from config.ids import uuid7
from tenants.scoping import TenantScopedModel

URL_MAX = 2000
DESCRIPTION_MAX = 200
RESPONSE_EXCERPT_MAX = 4096


class WebhookEndpoint(TenantScopedModel):
    """A URL of the tenant's that receives the events it subscribed to, signed with its secret
    (Standard Webhooks)."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    url = models.URLField(_("URL"), max_length=URL_MAX)
    description = models.CharField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    # The public event names subscribed to (webhooks.payloads.EVENT_NAMES).
    events = models.JSONField(_("events"), default=list)
    # {"current": "whsec_…", "previous": "whsec_…" (for 24 h after a rotation)}
    secret = EncryptedJSONField(_("signing secret"), default=Secrets)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Since when every attempt failed (none: the last one succeeded); disabled after
    # WEBHOOK_DISABLE_AFTER_HOURS of it. Kept while disabled: what it missed began then.
    failing_since = models.DateTimeField(null=True, blank=True)
    # One sender at a time per endpoint (order per conversation): a lease, not a lock held.
    sending_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "created_at"])]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantScopedModel):
    """One event for one endpoint: what was sent, and how each attempt went (the last one)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")
        GAVE_UP = "gave_up", _("Gave up")
        SKIPPED = "skipped", _("Skipped (endpoint disabled)")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The TenantEvent's public id the delivery tells of (none: a test event).
    event_id = models.CharField(max_length=64, blank=True)
    event = models.CharField(_("event"), max_length=64)
    payload = models.JSONField(default=dict)
    # Deliveries with the same key (a conversation's public id) reach the endpoint in order.
    ordering_key = models.CharField(max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta(TenantScopedModel.Meta):
        ordering = ["-id"]
        indexes = [
            # the sender: an endpoint's pending deliveries in order
            models.Index(fields=["endpoint", "status", "id"]),
            # the sweep: due retries
            models.Index(fields=["status", "next_attempt_at"]),
            # retention
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"
