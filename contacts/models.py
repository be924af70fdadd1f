from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
from contacts.search import search_text_for
from tenants.scoping import TenantScopedModel

# The fields `search_text` is made of.
SEARCHED_FIELDS = frozenset({"name", "phone", "email"})


class Contact(TenantScopedModel):
    """One person the tenant talks to, whatever channels they write from."""

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    # Where the person's picture is, as their channel's provider last said (a provider's link:
    # it may expire). The inbox draws it over the contact's initials, which stay if it fails.
    picture_url = models.URLField(_("picture URL"), max_length=2000, blank=True)
    # The name was typed by a person (an agent, an admin, an integrator through the API): what a
    # provider says of the contact's name never replaces it.
    name_set_by_hand = models.BooleanField(_("name typed by hand"), default=False)
    # LGPD: when and how the person agreed to be contacted first (e.g. for templates).
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_source = models.CharField(_("consent source"), max_length=120, blank=True)
    # Name, email and phone digits, lower-case and without accents: what the contacts page and
    # the API search (contacts.search). Derived from those three fields whenever they are saved.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)
    # LGPD: when the person's data was removed (contacts.lgpd.contact_anonymise). For good: the
    # contact stays only so that the tenant's statistics (its conversations and messages) do.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["tenant", "phone"]),
            models.Index(fields=["tenant", "email"]),
            models.Index(fields=["tenant", "name"]),
            models.Index(fields=["tenant", "-updated_at"]),
            # The contacts page's order (newest first) and its keyset pages.
            models.Index(fields=["tenant", "-public_id"], name="contact_tenant_newest"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A derived column kept beside what it derives from, wherever the contact is written
        # (services, the channels' intake, admin, factories): not business logic, a cache of it.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or SEARCHED_FIELDS & set(update_fields):
            self.search_text = search_text_for(name=self.name, phone=self.phone, email=self.email)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        # Agents see this for a contact with nothing else to show: a piece of its public id (the
        # random end), never its sequential primary key.
        if self.anonymised_at is not None:
            return str(_("Anonymised contact"))
        return self.name or self.phone or self.email or f"#{self.public_id.hex[-8:]}"


class ContactIdentity(TenantScopedModel):
    """A contact's address on one channel: a phone number, a page-scoped id, an email address..."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, related_name="identities")
    external_id = models.CharField(_("address on the channel"), max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantScopedModel.Meta):
        verbose_name_plural = "contact identities"
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="contact_identity_unique_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.external_id} on {self.channel_id}"



class ContactTransfer(TenantScopedModel):
    """What an import and an export of contacts share: who asked, how far it got, its file."""

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Waiting for the columns")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(_("public id"), default=uuid7, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    # Stored with a random name under a folder of its own; only served through the views that
    # check the member (never a public media URL).
    file = models.FileField(_("file"), upload_to="contacts/transfers/%Y/%m/", blank=True, max_length=300)
    # Why it failed as a whole (a row's errors are kept apart), in the words of the person reading.
    failure = models.CharField(_("failure"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        abstract = True
        ordering = ["-public_id"]

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportJob(ContactTransfer):
    """A CSV of contacts being imported: its columns and what each one is, and its progress."""

    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    # The CSV's dialect as sniffed at upload (delimiter, quote char) and its encoding.
    dialect = models.JSONField(_("CSV dialect"), default=dict, blank=True)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    # One entry per column: "name", "phone", "email", "language", "attribute" or "ignore".
    mapping = models.JSONField(_("column mapping"), default=list, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("contacts created"), default=0)
    updated_count = models.PositiveIntegerField(_("contacts updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("rows already known"), default=0)
    rejected_count = models.PositiveIntegerField(_("rows rejected"), default=0)
    # The rejected rows (line, column, message, the row's cells), the first IMPORT_ERRORS_KEPT.
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta(ContactTransfer.Meta):
        indexes = [models.Index(fields=["tenant", "-public_id"], name="contact_import_tenant_newest")]

    def __str__(self) -> str:
        return f"import {self.file_name} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, (100 * self.processed_rows) // self.total_rows) if self.total_rows else 0


class ExportJob(ContactTransfer):
    """A CSV of (a filtered part of) the contacts, written by a task, downloadable when done."""

    # The contacts page's filters it was asked with (q, channel, has_phone, has_email, since, until).
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("contacts exported"), default=0)

    class Meta(ContactTransfer.Meta):
        indexes = [models.Index(fields=["tenant", "-public_id"], name="contact_export_tenant_newest")]

    def __str__(self) -> str:
        return f"export {self.public_id} ({self.status})"
