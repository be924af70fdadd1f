from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
from tenants.scoping import TenantScopedModel


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
        ]

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
