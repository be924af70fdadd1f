from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
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
    # Templates sent: each may start a conversation the business opens (WhatsApp's daily tier).
    templates = models.PositiveIntegerField(default=0)
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


class AlertRule(TenantScopedModel):
    """A condition the tenant's admins want to hear of (integrations.monitoring.alerts): what
    `threshold` means depends on the kind (ALERT_THRESHOLD_UNITS); `window_minutes` and
    `min_attempts` only matter to the send failure rate; `channel` narrows the channel kinds to one
    channel (none: every channel)."""

    class Kind(models.TextChoices):
        SEND_FAILURE_RATE = "send_failure_rate", _("Sends failing")
        NO_INBOUND = "no_inbound", _("No messages received")
        CHANNEL_DISCONNECTED = "channel_disconnected", _("Channel disconnected")
        WEBHOOK_DISABLED = "webhook_disabled", _("Webhook endpoint disabled")
        QUOTA = "quota", _("Monthly message quota")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    threshold = models.PositiveIntegerField(_("threshold"))
    window_minutes = models.PositiveIntegerField(_("window (minutes)"), default=10)
    min_attempts = models.PositiveIntegerField(_("minimum sends"), default=10)
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("channel"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="alert_rule_tenant")]

    def __str__(self) -> str:
        return f"{self.kind} ≥ {self.threshold}"


class AlertIncident(TenantScopedModel):
    """A time a rule's condition held for one subject (a channel, a webhook endpoint, the
    tenant's quota): opened once with one notice, quiet while it holds, resolved once with a
    recovery notice when it has not held for ALERT_RECOVERY_MINUTES (a value hovering at its
    threshold keeps one incident, not one a minute). At most one open incident per rule and subject (the constraint), so two
    evaluations at once open it once."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    subject_kind = models.CharField(max_length=16)  # channel, webhook, tenant
    subject_id = models.BigIntegerField()
    subject_label = models.CharField(max_length=200, blank=True)  # what it was called then
    subject_url = models.CharField(max_length=300, blank=True)  # where to look (a path of the product)
    value = models.FloatField(null=True, blank=True)  # what was measured when it opened
    started_at = models.DateTimeField()
    # When its condition last held (an evaluation found it): resolved ALERT_RECOVERY_MINUTES after.
    held_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    recovery_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "subject_kind", "subject_id"],
                                               condition=models.Q(resolved_at__isnull=True),
                                               name="alert_incident_open")]
        indexes = [models.Index(fields=["tenant", "-started_at"], name="alert_incident_tenant")]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.subject_kind} {self.subject_id} since {self.started_at:%Y-%m-%d %H:%M}"


class AlertDefaults(TenantScopedModel):
    """That a tenant was given the default rules (once: a rule its admins deleted stays deleted)."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant"], name="alert_defaults_tenant")]
