from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.ids import uuid7
from tenants.scoping import TenantScopedManager, TenantScopedModel


class Role(models.TextChoices):
    SUPER_ADMIN = "SUPER_ADMIN", _("Platform administrator")
    TENANT_ADMIN = "TENANT_ADMIN", _("Administrator")
    MANAGER = "MANAGER", _("Manager")
    AGENT = "AGENT", _("Agent")
    VIEWER = "VIEWER", _("Viewer")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Which tenants they work for, and as what, is in Membership."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True, help_text=_("Empty: the tenant's."))
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # JWTs issued before this are refused (accounts.tokens): set when turning two-factor login on
    # ends the user's other logins (accounts.sessions.logins_end_others).
    tokens_valid_after = models.DateTimeField(_("tokens valid after"), null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class LoginSession(models.Model):
    """A session a user logged in with (its key in Django's session store), recorded at login:
    how the user's other sessions are found and ended (accounts.sessions.logins_end_others).
    Not tenant data: a session is the person's, whichever tenants they work in."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}:{self.session_key[:6]}…"



class Membership(TenantScopedModel):
    """A user's place in one tenant: the role decides what they may do there."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    # A deactivated member keeps their place (history, audit) but has no access at all:
    # accounts.access resolves active memberships only.
    is_active = models.BooleanField(_("active"), default=True)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]
        indexes = [models.Index(fields=["user", "tenant"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.tenant_id}:{self.role}"


class Invitation(TenantScopedModel):
    """An invitation to join the tenant, sent by email: a link that works once, until it
    expires. Only a digest of its token is kept (accounts.invitations)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    # Public ids of the channels and teams the invitee gets on accepting (accounts knows
    # neither model: the apps that own them act on InvitationAccepted).
    channel_ids = models.JSONField(_("channels"), default=list, blank=True)
    team_ids = models.JSONField(_("teams"), default=list, blank=True)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("invited by"))
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    sent_at = models.DateTimeField(_("last sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("invitation")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]

    def __str__(self) -> str:
        return f"{self.email}@{self.tenant_id}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def status_label(self) -> str:
        return str(self.Status(self.status).label)

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class AuditAction(models.TextChoices):
    """What an audit entry says happened (the code is what the API and the CSV show)."""

    LOGIN_SUCCEEDED = "login.succeeded", _("Logged in")
    LOGIN_FAILED = "login.failed", _("Failed login")
    MEMBER_ADDED = "member.added", _("Member added")
    MEMBER_REMOVED = "member.removed", _("Member removed")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Member's role changed")
    MEMBER_DEACTIVATED = "member.deactivated", _("Member deactivated")
    MEMBER_REACTIVATED = "member.reactivated", _("Member reactivated")
    CHANNEL_CONNECTED = "channel.connected", _("Channel connected")
    CHANNEL_DISCONNECTED = "channel.disconnected", _("Channel disconnected")
    CHANNEL_CREDENTIALS_CHANGED = "channel.credentials_changed", _("Channel credentials changed")
    CHANNEL_DELETED = "channel.deleted", _("Channel deleted")
    CONTACT_DELETED = "contact.deleted", _("Contact deleted")
    CONTACT_MERGED = "contact.merged", _("Contacts merged")
    CONTACT_EXPORTED = "contact.exported", _("Contact's data exported (LGPD)")
    CONTACT_ANONYMISED = "contact.anonymised", _("Contact anonymised (LGPD)")
    RETENTION_APPLIED = "retention.applied", _("Old messages and files deleted (retention)")
    EXPORT_CREATED = "export.created", _("Export created")
    CONTACTS_IMPORTED = "contacts.imported", _("Contacts imported")
    SETTINGS_CHANGED = "settings.changed", _("Settings changed")
    PASSWORD_CHANGED = "password.changed", _("Password changed")
    PASSWORD_RESET = "password.reset", _("Password reset by email")
    INVITATION_SENT = "invitation.sent", _("Invitation sent")
    INVITATION_RESENT = "invitation.resent", _("Invitation sent again")
    INVITATION_REVOKED = "invitation.revoked", _("Invitation revoked")
    INVITATION_ACCEPTED = "invitation.accepted", _("Invitation accepted")
    CHANNEL_ACCESS_CHANGED = "channel.access_changed", _("Channel access changed")
    TWO_FACTOR_ENABLED = "two_factor.enabled", _("Two-factor login turned on")
    TWO_FACTOR_DISABLED = "two_factor.disabled", _("Two-factor login turned off")
    RECOVERY_CODES_RENEWED = "two_factor.recovery_codes_renewed", _("Recovery codes renewed")
    TEAM_CREATED = "team.created", _("Team created")
    TEAM_UPDATED = "team.updated", _("Team changed")
    TEAM_DELETED = "team.deleted", _("Team deleted")
    LABEL_CREATED = "label.created", _("Label created")
    LABEL_UPDATED = "label.updated", _("Label changed")
    LABEL_DELETED = "label.deleted", _("Label deleted")
    CANNED_RESPONSE_CREATED = "canned_response.created", _("Canned response created")
    CANNED_RESPONSE_UPDATED = "canned_response.updated", _("Canned response changed")
    CANNED_RESPONSE_DELETED = "canned_response.deleted", _("Canned response deleted")
    API_KEY_CREATED = "api_key.created", _("API key created")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
    WEBHOOK_CREATED = "webhook.created", _("Webhook endpoint added")
    WEBHOOK_UPDATED = "webhook.updated", _("Webhook endpoint changed")
    WEBHOOK_DELETED = "webhook.deleted", _("Webhook endpoint deleted")
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", _("Webhook signing secret rotated")
    WEBHOOK_DISABLED = "webhook.disabled", _("Webhook endpoint disabled")
    WEBHOOK_ENABLED = "webhook.enabled", _("Webhook endpoint enabled")
    ALERT_RULE_CREATED = "alert_rule.created", _("Alert rule added")
    ALERT_RULE_UPDATED = "alert_rule.updated", _("Alert rule changed")
    ALERT_RULE_DELETED = "alert_rule.deleted", _("Alert rule deleted")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        # The one change allowed: a deleted user's entries lose the link to them (Django's
        # SET_NULL); their actor_label still says who it was.
        if kwargs.keys() == {"actor"} and kwargs["actor"] is None:
            return super().update(**kwargs)
        raise AuditEntryImmutable("Audit entries are never changed.")


class AuditEntryImmutable(RuntimeError):
    """Something tried to change an audit entry: a bug, never a user error."""


class AuditEntry(TenantScopedModel):
    """One thing someone did in a tenant: who, what, to what, when, from where.

    Append-only: a row is written once (accounts.audit.audit_record) and never changed; only
    the retention task removes rows, when they are older than the tenant keeps them. The
    actor's label is kept, so the entry still says who it was once the user is gone."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("actor"))
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    # A code of AuditAction, not a choices field: a new kind of entry needs no migration.
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=32, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = TenantScopedManager.from_queryset(AuditEntryQuerySet)()
    all_objects = models.Manager.from_queryset(AuditEntryQuerySet)()

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="audit_tenant_created"),
            models.Index(fields=["tenant", "action", "-created_at"], name="audit_tenant_action_created"),
            models.Index(fields=["tenant", "actor", "-created_at"], name="audit_tenant_actor_created"),
        ]

    @property
    def action_label(self) -> str:
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or '-'} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditEntryImmutable("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEntryImmutable("Audit entries are removed only by the retention task.")


class ApiKey(TenantScopedModel):
    """A key an integrator's system uses for /api/v1/ instead of a JWT, made by an administrator
    of the tenant. The key itself is shown once, when it is made: only its prefix (shown in
    lists, and how a key is found) and a SHA-256 digest of the whole key are kept
    (accounts.api_keys). It acts as the administrator who made it, within its scope, and on
    the channels it names (all of them when it names none)."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        READ_WRITE = "read_write", _("Read and write")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("api key status", "Active")
        EXPIRED = "expired", pgettext_lazy("api key status", "Expired")
        REVOKED = "revoked", pgettext_lazy("api key status", "Revoked")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=32, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.READ)
    # Public ids of the channels the key is limited to (accounts knows no channel model); empty:
    # every channel of the tenant.
    channel_ids = models.JSONField(_("channels"), default=list, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("revoked by"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("API key")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def status_label(self) -> str:
        return str(self.Status(self.status).label)


class Notice(TenantScopedModel):
    """Something a member is told in the product (the bell in the top bar, /notifications/):
    written in the member's language when it is sent, read once opened or marked read."""

    TITLE_MAX, URL_MAX = 200, 300

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notices")
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=URL_MAX, blank=True)  # a path of the product
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("notice")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "user", "-created_at", "-id"], name="notice_member_created"),
            models.Index(fields=["tenant", "user"], condition=models.Q(read_at__isnull=True), name="notice_unread"),
        ]

    def __str__(self) -> str:
        return self.title
