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


class ActivitySlot(TenantScopedModel):
    """What one channel or webhook endpoint did in five minutes (integrations.monitoring): kept
    as counters, added to once a batch, so that the health page and the alerts never count the
    messages or deliveries themselves."""

    class Subject(models.TextChoices):
        CHANNEL = "channel"
        WEBHOOK = "webhook"

    subject_kind = models.CharField(max_length=16, choices=Subject.choices)
    subject_id = models.BigIntegerField()  # the channel's or the endpoint's primary key
    slot = models.DateTimeField()  # the start of the five minutes (UTC)
    received = models.PositiveIntegerField(default=0)  # messages in
    attempted = models.PositiveIntegerField(default=0)  # handed to the provider / the endpoint
    failed = models.PositiveIntegerField(default=0)  # failed then or later (its codes: ActivityError)
    latency_ms_total = models.BigIntegerField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    last_received_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["subject_kind", "subject_id", "slot"],
                                               name="activity_slot_subject")]
        indexes = [models.Index(fields=["tenant", "slot"], name="activity_slot_tenant")]

    def __str__(self) -> str:
        return f"{self.subject_kind} {self.subject_id} at {self.slot:%Y-%m-%d %H:%M}"


class ActivityError(TenantScopedModel):
    """How many times one error code came back for a channel or endpoint in five minutes."""

    subject_kind = models.CharField(max_length=16, choices=ActivitySlot.Subject.choices)
    subject_id = models.BigIntegerField()
    slot = models.DateTimeField()
    code = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["subject_kind", "subject_id", "slot", "code"],
                                               name="activity_error_subject")]
        indexes = [models.Index(fields=["tenant", "slot"], name="activity_error_tenant")]

    def __str__(self) -> str:
        return f"{self.code} ×{self.count}"
