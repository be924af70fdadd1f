from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from contacts.models import Contact, ContactIdentity, ExportJob, ImportJob
from tenants.admin import TenantScopedAdmin, TenantScopedInline


class ContactIdentityInline(TenantScopedInline):
    model = ContactIdentity
    fields = ("channel", "external_id", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("channel",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactIdentity]:
        return super().get_queryset(request).select_related("channel").defer("channel__credentials")


@admin.register(Contact)
class ContactAdmin(TenantScopedAdmin):
    list_display = ("__str__", "tenant", "phone", "email", "consent_at", "updated_at")
    list_select_related = ("tenant",)
    list_filter = ("tenant", ("consent_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "phone", "email", "=identities__external_id", "=public_id")
    readonly_fields = ("public_id", "created_at", "updated_at")
    inlines = (ContactIdentityInline,)
    show_full_result_count = False


@admin.register(ContactIdentity)
class ContactIdentityAdmin(TenantScopedAdmin):
    list_display = ("external_id", "contact", "channel", "tenant", "created_at")
    list_select_related = ("contact", "channel", "tenant")
    list_filter = ("channel__kind", "tenant")
    search_fields = ("external_id", "contact__name", "contact__phone", "contact__email")
    autocomplete_fields = ("contact", "channel")
    readonly_fields = ("created_at",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactIdentity]:
        return super().get_queryset(request).defer("channel__credentials")


@admin.register(ImportJob)
class ImportJobAdmin(TenantScopedAdmin):
    list_display = ("file_name", "tenant", "status", "total_rows", "processed_rows", "created_count",
                    "rejected_count", "created_by", "created_at")
    list_select_related = ("tenant", "created_by")
    list_filter = ("status",)
    readonly_fields = [field.name for field in ImportJob._meta.fields]
    show_full_result_count = False


@admin.register(ExportJob)
class ExportJobAdmin(TenantScopedAdmin):
    list_display = ("public_id", "tenant", "status", "row_count", "created_by", "created_at")
    list_select_related = ("tenant", "created_by")
    list_filter = ("status",)
    readonly_fields = [field.name for field in ExportJob._meta.fields]
    show_full_result_count = False
