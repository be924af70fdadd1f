"""Django admin for platform staff, and the pieces every app's admin shares.

Admin is the staff's view over all tenants. The middleware already runs staff admin
requests unscoped; the mixins below do not rely on it: querysets and foreign-key choices
are built unscoped on purpose, the tenant of a new row is chosen explicitly, and a row
cannot be pointed at another tenant's rows.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tenants.models import Tenant, TenantEvent
from tenants.scoping import TenantScopedModel, unscoped
from tenants.services import tenant_set_status


class TenantScopedForm(forms.ModelForm):
    """Refuses a relation to a row of another tenant than the row's own.

    The instance's tenant must be known before `clean()` ends: it is the existing row's,
    the parent's (inlines), or the one chosen in `TenantChoiceForm`."""

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        tenant = cleaned_data.get("tenant") if "tenant" in self.fields else None
        if tenant is not None:
            self.instance.tenant = tenant
        tenant_id = getattr(self.instance, "tenant_id", None)
        if tenant_id is None:
            return cleaned_data
        for name, value in list(cleaned_data.items()):
            if name == "tenant" or value is None:
                continue
            try:
                field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not field.is_relation or not issubclass(field.related_model, TenantScopedModel):
                continue
            related_rows = list(value) if field.many_to_many else [value]
            if any(row.tenant_id != tenant_id for row in related_rows):
                self.add_error(name, _("This belongs to another tenant."))
        return cleaned_data

    def _post_clean(self) -> None:
        # Model validation (unique checks, constraints) queries the default manager: run it
        # over all tenants, as the database enforces the constraints.
        with unscoped():
            super()._post_clean()

    def _get_validation_exclusions(self) -> set[str]:
        # `tenant` is not an editable field, so Django would skip the per-tenant unique
        # constraints and let a duplicate reach the database; once the tenant is known,
        # validate them like any other constraint.
        exclude = super()._get_validation_exclusions()
        if getattr(self.instance, "tenant_id", None) is not None:
            exclude.discard("tenant")
        return exclude


class TenantChoiceForm(TenantScopedForm):
    """A scoped row whose tenant is chosen on the form: on add pages, and in inlines under
    a parent that has no tenant (a user's memberships). Fixed once the row exists."""

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all(), label=_("tenant"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tenant_field = self.fields.get("tenant")
        if tenant_field is not None and self.instance.pk is not None:
            tenant_field.disabled = True
            tenant_field.initial = self.instance.tenant_id


class UnscopedAdminMixin:
    """For ModelAdmins and inlines of tenant data: see every tenant, explicitly.

    The scoped manager decides its filter when a queryset is created, so building the
    querysets inside `unscoped()` is enough; `all_objects` would bypass the permission
    logic of InlineModelAdmin.get_queryset."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        with unscoped():
            return super().get_queryset(request)  # type: ignore[misc]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Foreign-key and many-to-many choices (dropdowns, autocomplete) of every tenant;
        # TenantScopedForm then refuses a choice from a tenant other than the row's.
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")  # Django 6's default, without the warning
        with unscoped():
            return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]


class TenantScopedAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    """Base ModelAdmin of a TenantScopedModel: tenant chosen on add, read-only after."""

    form = TenantChoiceForm

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        # `tenant` is not editable on the model; the form declares its own field for it.
        return [*(super().get_exclude(request, obj) or ()), "tenant"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and "tenant" not in readonly:
            readonly.insert(0, "tenant")
        return readonly

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if "tenant" in fields:  # first, where staff look for it
            fields.remove("tenant")
            fields.insert(0, "tenant")
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if "tenant" not in flatten_fieldsets(fieldsets):
            fieldsets.insert(0, (None, {"fields": ["tenant"]}))
        return fieldsets


class UnscopedInlineMixin(UnscopedAdminMixin):
    """For inlines of tenant data. Their formsets build each row's hidden id field from the
    model's default manager, so rows are built unscoped too; a row added under a parent
    that has a tenant takes the parent's."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]

        class UnscopedFormSet(formset):  # type: ignore[misc, valid-type]
            def add_fields(self, form: Any, index: int | None) -> None:
                with unscoped():
                    super().add_fields(form, index)

            def _construct_form(self, i: int, **form_kwargs: Any) -> Any:
                form = super()._construct_form(i, **form_kwargs)
                parent_tenant_id = getattr(self.instance, "tenant_id", None)
                if parent_tenant_id is not None:
                    form.instance.tenant_id = parent_tenant_id
                return form

        return UnscopedFormSet


class TenantScopedInline(UnscopedInlineMixin, admin.TabularInline):
    """A tabular inline of tenant rows under a parent of the same tenant."""

    form = TenantScopedForm
    extra = 0


def _count_of(model_label: str, **filters: Any) -> Coalesce:
    """A per-tenant count as a correlated subquery: one query for the whole page.

    By label, not import: tenants sits below the apps it counts."""
    model = apps.get_model(model_label)
    counted = (
        model.all_objects.filter(tenant=OuterRef("pk"), **filters)
        .order_by()
        .values("tenant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _usage(used: int, limit: int) -> str:
    return f"{used} / {limit or '∞'}"


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "plan", "channels_usage", "agents_usage", "messages_usage",
                    "created_at")
    list_filter = ("status", "plan", "two_factor_required")
    search_fields = ("name", "slug")
    ordering = ("name",)
    actions = ("suspend", "reactivate")
    readonly_fields = ("usage_month", "messages_this_month", "channels_usage", "agents_usage", "messages_usage",
                       "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "plan")}),
        (_("Plan limits (0 = unlimited)"), {"fields": ("max_channels", "max_agents", "max_messages_per_month")}),
        (_("Usage"), {"fields": ("channels_usage", "agents_usage", "messages_usage", "usage_month",
                                 "messages_this_month")}),
        (_("Locale"), {"fields": ("time_zone", "language", "default_country")}),
        (_("Security"), {"fields": ("two_factor_required",)}),
        (_("Settings"), {"fields": ("settings",), "classes": ("collapse",)}),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        from accounts.roles import ROLES_USING_A_SEAT  # same definition of a seat as the plan check

        return super().get_queryset(request).annotate(
            channels_used=_count_of("channels_app.Channel", archived_at__isnull=True),
            agents_used=_count_of("accounts.Membership", role__in=ROLES_USING_A_SEAT, is_active=True),
        )

    @admin.display(description=_("channels"), ordering="channels_used")
    def channels_usage(self, tenant: Tenant) -> str:
        return _usage(getattr(tenant, "channels_used", 0), tenant.max_channels)

    @admin.display(description=_("agents"), ordering="agents_used")
    def agents_usage(self, tenant: Tenant) -> str:
        return _usage(getattr(tenant, "agents_used", 0), tenant.max_agents)

    @admin.display(description=_("messages this month"))
    def messages_usage(self, tenant: Tenant) -> str:
        # The counter belongs to `usage_month`; a stale month means nothing was sent yet.
        used = tenant.messages_this_month if tenant.usage_month == Tenant.current_month() else 0
        return _usage(used, tenant.max_messages_per_month)

    @admin.action(description=_("Suspend the selected tenants"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        count = sum(tenant_set_status(tenant=tenant, status=Tenant.Status.SUSPENDED, actor=request.user)
                    for tenant in queryset.filter(status__in=[Tenant.Status.TRIAL, Tenant.Status.ACTIVE]))
        self.message_user(request, ngettext("%d tenant suspended.", "%d tenants suspended.", count) % count,
                          messages.SUCCESS)

    @admin.action(description=_("Reactivate the selected suspended tenants"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        count = sum(tenant_set_status(tenant=tenant, status=Tenant.Status.ACTIVE, actor=request.user)
                    for tenant in queryset.filter(status=Tenant.Status.SUSPENDED))
        self.message_user(request, ngettext("%d tenant reactivated.", "%d tenants reactivated.", count) % count,
                          messages.SUCCESS)


@admin.register(TenantEvent)
class TenantEventAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    """The event log is written by services only: read it, never edit it."""

    list_display = ("id", "name", "tenant", "channel_id", "conversation_id", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("tenant",)
    search_fields = ("name", "channel_id__exact", "conversation_id__exact")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
