from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
from tenants.scoping import TenantScopedModel


class Team(TenantScopedModel):
    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    # The channels this team works (what it answers); who may see a channel is decided per
    # member elsewhere (channels_app), not by this.
    channels = models.ManyToManyField("channels_app.Channel", related_name="teams", blank=True,
                                      verbose_name=_("channels"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="team_unique_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Label(TenantScopedModel):
    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="label_unique_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class CannedResponse(TenantScopedModel):
    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    short_code = models.SlugField(_("short code"), max_length=60)
    content = models.TextField(_("content"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["short_code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "short_code"], name="canned_response_unique_code_per_tenant")
        ]

    def __str__(self) -> str:
        return f"/{self.short_code}"


class Conversation(TenantScopedModel):
    class Status(models.TextChoices):
        OPEN = "OPEN", _("Open")
        PENDING = "PENDING", _("Pending")
        SNOOZED = "SNOOZED", _("Snoozed")
        RESOLVED = "RESOLVED", _("Resolved")

    class Priority(models.TextChoices):
        NONE = "NONE", _("None")
        LOW = "LOW", _("Low")
        MEDIUM = "MEDIUM", _("Medium")
        HIGH = "HIGH", _("High")
        URGENT = "URGENT", _("Urgent")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.PROTECT, related_name="conversations")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.PROTECT, related_name="conversations")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_conversations"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations")
    labels = models.ManyToManyField(Label, related_name="conversations", blank=True)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NONE)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    last_inbound_at = models.DateTimeField(_("contact's last message"), null=True, blank=True)
    last_message_preview = models.CharField(max_length=200, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "-last_activity_at"], name="conv_tenant_status_activity"),
            models.Index(fields=["tenant", "-last_activity_at"], name="conv_tenant_activity"),
            models.Index(fields=["tenant", "assignee", "status"], name="conv_tenant_assignee"),
            models.Index(fields=["channel", "-last_activity_at"], name="conv_channel_activity"),
            models.Index(fields=["contact", "-last_activity_at"], name="conv_contact_activity"),
            models.Index(fields=["tenant", "updated_at"], name="conv_tenant_updated"),
            # A member's own list ("mine", the API's assignee=me) in its order: a page is the first
            # rows of the index, not a sort of every conversation the member ever had (migration 0012).
            models.Index(fields=["tenant", "assignee", "status", "-last_activity_at", "-id"],
                         name="conv_assignee_status_activity"),
            # The lists of one channel (an agent's channels, the channel filter) by status, in order,
            # and their capped counts, without reading the channel's other statuses (migration 0013).
            models.Index(fields=["channel", "status", "-last_activity_at", "-id"], name="conv_channel_status_activity"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def service_window_closes_at(self) -> datetime | None:
        """When free-form replies stop being accepted (on kinds with a reply window: some time
        after the contact's last message); None without a window or a message."""
        window = self.channel.kind_info.reply_window
        return self.last_inbound_at + window if window is not None and self.last_inbound_at else None

    @property
    def service_window_open(self) -> bool:
        """Whether a free-form reply may go out now (always, on channels without a window)."""
        if self.channel.kind_info.reply_window is None:
            return True
        closes = self.service_window_closes_at
        return closes is not None and closes > timezone.now()


class Message(TenantScopedModel):
    class Direction(models.TextChoices):
        INBOUND = "INBOUND", _("Inbound")
        OUTBOUND = "OUTBOUND", _("Outbound")

    class SenderType(models.TextChoices):
        CONTACT = "CONTACT", _("Contact")
        AGENT = "AGENT", _("Agent")
        BOT = "BOT", _("Bot")
        SYSTEM = "SYSTEM", _("System")

    class Type(models.TextChoices):
        TEXT = "TEXT", _("Text")
        IMAGE = "IMAGE", _("Image")
        VIDEO = "VIDEO", _("Video")
        AUDIO = "AUDIO", _("Audio")
        DOCUMENT = "DOCUMENT", _("Document")
        LOCATION = "LOCATION", _("Location")
        CONTACT = "CONTACT", _("Contact card")
        TEMPLATE = "TEMPLATE", _("Template")
        INTERACTIVE = "INTERACTIVE", _("Interactive")
        STICKER = "STICKER", _("Sticker")
        REACTION = "REACTION", _("Reaction")
        SYSTEM = "SYSTEM", _("System")

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        QUEUED = "QUEUED", _("Queued")
        SENT = "SENT", _("Sent")
        DELIVERED = "DELIVERED", _("Delivered")
        READ = "READ", _("Read")
        FAILED = "FAILED", _("Failed")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    # No index of its own: msg_conversation_created (conversation, time) serves every lookup by
    # conversation, and in time order (a conversation's newest match: read backwards, stopped early).
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Denormalised from the conversation so ingestion can be idempotent per channel.
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    sender_type = models.CharField(max_length=8, choices=SenderType.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    type = models.CharField(max_length=12, choices=Type.choices, default=Type.TEXT)
    content = models.TextField(blank=True)
    # Normalised, provider-independent details of non-text messages (media, location, template...).
    content_attributes = models.JSONField(default=dict, blank=True)
    # Free metadata an integrator attaches to a message.
    metadata = models.JSONField(default=dict, blank=True)
    private = models.BooleanField(_("private note"), default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=255, null=True, blank=True)
    # An integrator's own id for a message it created, for idempotent retries.
    external_id = models.CharField(max_length=255, null=True, blank=True)
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # A reply's sending: the attempts the provider refused for a while (rate limits, its
    # outages), and until when the next one waits (the backoff): senders leave it alone
    # until then.
    send_attempts = models.PositiveSmallIntegerField(default=0)
    send_after = models.DateTimeField(null=True, blank=True)
    # Set while a sender has handed the reply to the provider and waits for the answer (the reply
    # stays PENDING): until when that sender's claim holds. A claim that runs out without an
    # answer (the sender died) leaves the reply FAILED as "delivery unknown", never sent a second
    # time on its own. In no index and no index's condition, so that claiming a reply is a HOT
    # update (PostgreSQL writes no index entry for it).
    send_lease_until = models.DateTimeField(null=True, blank=True)
    # When its sender deleted it for everyone (the contact, or the paired phone): the thread shows
    # it deleted; its content stays, for tenant admins only.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conversation_created"),
            # A channel's replies waiting to be sent, oldest first (integrations.outbound).
            models.Index(fields=["channel", "id"], name="msg_outbound_waiting", condition=Q(
                direction="OUTBOUND", status="PENDING", provider_message_id__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="msg_unique_provider_id_per_channel",
            ),
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="msg_unique_external_id_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} ({self.direction} {self.type})"


class Attachment(TenantScopedModel):
    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    external_url = models.URLField(max_length=1000, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["id"]

    def __str__(self) -> str:
        return self.file_name or f"attachment {self.pk}"


# --- Reports: figures kept as they happen (conversations.reports) ---------------------------
# The reports read these, never the messages: an hour's counts per channel, agent and team, and
# one row per time a conversation was opened (its first reply and its resolution). Agents and
# teams are kept by id, 0 for none (a unique key cannot hold NULLs that compare equal on both
# databases); a deleted team's or member's figures stay, under "deleted".


class ReportHour(TenantScopedModel):
    hour = models.DateTimeField()  # the hour's start, UTC
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, related_name="+")
    agent_key = models.BigIntegerField(default=0)  # the user's id, 0: no agent
    team_key = models.BigIntegerField(default=0)  # the team's id, 0: no team
    conversations_opened = models.PositiveIntegerField(default=0)
    conversations_resolved = models.PositiveIntegerField(default=0)
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "hour", "channel", "agent_key", "team_key"],
                                               name="report_hour_unique_key")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h channel {self.channel_id}"


class ReportConversation(TenantScopedModel):
    """One time a conversation was open: from its opening (or reopening) to its resolution."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, related_name="+")
    agent_key = models.BigIntegerField(default=0)  # who had it last (resolved it)
    team_key = models.BigIntegerField(default=0)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["conversation", "opened_at"],
                                               name="report_conversation_unique_opening")]
        indexes = [
            models.Index(fields=["tenant", "resolved_at"], name="report_conv_tenant_resolved"),
            models.Index(fields=["tenant", "opened_at"], name="report_conv_tenant_opened"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} opened {self.opened_at:%Y-%m-%d %H:%M}"
