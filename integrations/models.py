from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenants.scoping import TenantScopedModel


class WebhookEvent(TenantScopedModel):
    """A provider's webhook body, stored before anything else happens to it.

    It is the durable copy of what the provider delivered: processing reads it from here,
    a failure stays here with its error (admins see it) and is retried, and nothing a
    provider sent is lost on the way."""

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED"
        PROCESSED = "PROCESSED"
        FAILED = "FAILED"

    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, related_name="webhook_events")
    body = models.TextField()
    signature = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_event_status"),
            models.Index(fields=["channel", "-received_at"], name="webhook_event_channel"),
            # What a processing task takes up besides its own events (integrations.inbound.process).
            models.Index(fields=["id"], condition=models.Q(status="RECEIVED", attempts=0),
                         name="webhook_event_waiting"),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} ({self.status})"
