from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
from tenants.scoping import TenantScopedModel

AUDIT_RETENTION_MIN_DAYS, AUDIT_RETENTION_MAX_DAYS = 30, 3650
RETENTION_MIN_DAYS, RETENTION_MAX_DAYS = 1, 36500


class Tenant(models.Model):
    """A company using the inbox. Every row of tenant data points here."""

    class Status(models.TextChoices):
        TRIAL = "TRIAL", _("Trial")
        ACTIVE = "ACTIVE", _("Active")
        SUSPENDED = "SUSPENDED", _("Suspended")
        CANCELLED = "CANCELLED", _("Cancelled")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=63, unique=True, help_text=_("Also the subdomain."))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.TRIAL)
    plan = models.CharField(_("plan"), max_length=40, default="trial")

    # Plan limits; 0 means unlimited.
    max_channels = models.PositiveIntegerField(_("channel limit"), default=5)
    max_agents = models.PositiveIntegerField(_("agent limit"), default=10)
    max_messages_per_month = models.PositiveIntegerField(_("monthly message limit"), default=10_000)

    # Usage of the monthly message allowance: the month it counts and the count.
    usage_month = models.DateField(_("usage month"), null=True, blank=True)
    messages_this_month = models.PositiveIntegerField(_("messages this month"), default=0)

    time_zone = models.CharField(_("time zone"), max_length=64, default="America/Sao_Paulo")
    language = models.CharField(_("language"), max_length=8, default="pt-br")
    default_country = models.CharField(
        _("default country"), max_length=2, default="BR", help_text=_("For phone numbers written without +country.")
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    two_factor_required = models.BooleanField(
        _("two-factor login required"), default=False,
        help_text=_("Members without two-factor login are sent to turn it on and can use nothing else until they do."),
    )
    audit_retention_days = models.PositiveSmallIntegerField(
        _("audit log retention (days)"), default=365,
        validators=[MinValueValidator(AUDIT_RETENTION_MIN_DAYS), MaxValueValidator(AUDIT_RETENTION_MAX_DAYS)],
        help_text=_("Audit entries older than this are deleted every day."),
    )
    # LGPD: how long messages and their files are kept (conversations.services.retention, run by
    # Celery beat). None: for ever.
    message_retention_days = models.PositiveIntegerField(
        _("message retention (days)"), null=True, blank=True,
        validators=[MinValueValidator(RETENTION_MIN_DAYS), MaxValueValidator(RETENTION_MAX_DAYS)],
        help_text=_("Messages older than this are deleted every day, with their files. Empty: kept for ever."),
    )
    attachment_retention_days = models.PositiveIntegerField(
        _("attachment retention (days)"), null=True, blank=True,
        validators=[MinValueValidator(RETENTION_MIN_DAYS), MaxValueValidator(RETENTION_MAX_DAYS)],
        help_text=_("Files older than this are deleted every day (their messages stay). Empty: kept for ever."),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_operational(self) -> bool:
        return self.status in (self.Status.TRIAL, self.Status.ACTIVE)

    @staticmethod
    def current_month(now: dt.datetime | None = None) -> dt.date:
        return (now or timezone.now()).date().replace(day=1)


class TenantEvent(TenantScopedModel):
    """The durable, ordered log of what happened in a tenant.

    Written in the same transaction as the change it describes, so it exists exactly when
    the change does. Live listeners get the event after commit; a browser or integrator
    that was disconnected catches up from here, and so can any later consumer."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    name = models.CharField(max_length=64)
    channel_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="tenant_event_tenant_created"),
            models.Index(fields=["created_at"], name="tenant_event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"
