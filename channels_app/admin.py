"""Channels in admin. Credentials are secret: never shown, only masked, and replaced through
a write-only field merged into what is stored (as the API does)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from accounts.models import Membership
from channels_app.models import Channel, ChannelGroupObjectPermission, ChannelUserObjectPermission
from channels_app.services import channel_archive, channel_update
from config.crypto import Secrets, SecretUnreadable
from tenants.admin import TenantChoiceForm, TenantScopedAdmin, UnscopedAdminMixin


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value back, not even the one just typed into a form with errors."""

    def format_value(self, value: Any) -> None:
        return None


class ChannelAdminForm(TenantChoiceForm):
    credentials_update = forms.JSONField(
        label=_("replace credentials"),
        required=False,
        widget=WriteOnlyTextarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            'A JSON object merged into the stored credentials: {"api_key": "new value"} replaces one secret, '
            '{"api_key": null} removes it. Leave empty to keep them all.'
        ),
    )

    class Meta:
        model = Channel
        exclude = ("credentials",)

    def clean_credentials_update(self) -> dict[str, Any]:
        update = self.cleaned_data.get("credentials_update")
        if update in (None, ""):
            return {}
        if not isinstance(update, dict):
            raise ValidationError(_('Give a JSON object, such as {"api_key": "..."}.'))
        return update


class ChannelAccessInline(admin.TabularInline):
    """The users who work this channel (granted in the tenant's settings or below)."""

    model = ChannelUserObjectPermission
    verbose_name = _("user working this channel")
    verbose_name_plural = _("users working this channel")
    fields = ("user", "permission")
    readonly_fields = ("user", "permission")
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelUserObjectPermission]:
        return super().get_queryset(request).select_related("user", "permission__content_type")


@admin.register(Channel)
class ChannelAdmin(TenantScopedAdmin):
    form = ChannelAdminForm
    list_display = ("name", "tenant", "kind_shown", "status", "status_changed_at", "archived_at", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("kind", "status", ("archived_at", admin.EmptyFieldListFilter), "tenant")
    search_fields = ("name", "tenant__slug", "tenant__name", "=webhook_token", "=public_id")
    readonly_fields = ("masked_credentials", "webhook_url", "status_changed_at", "archived_at", "created_at",
                       "updated_at")
    fieldsets = (
        (None, {"fields": ("tenant", "name", "kind", "status", "status_detail", "status_changed_at")}),
        (_("Provider"), {"fields": ("webhook_url", "config", "masked_credentials", "credentials_update")}),
        (None, {"fields": ("archived_at", "created_at", "updated_at")}),
    )
    inlines = (ChannelAccessInline,)
    actions = ("archive",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        # Lists and dropdowns never need the secrets: don't load (and decrypt) them.
        return super().get_queryset(request).defer("credentials")

    @method_decorator(sensitive_post_parameters("credentials_update"))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return super().changeform_view(request, *args, **kwargs)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_shown(self, channel: Channel) -> str:
        """The kind's name; a kind that no provider of this installation serves says so."""
        kind = channel.kind_info
        return str(kind.label) if kind.available else format_html('{} <strong>({})</strong>', kind.value,
                                                                   _("not available"))

    @admin.display(description=_("credentials"))
    def masked_credentials(self, channel: Channel) -> str:
        try:
            masked = Secrets(channel.credentials or {}).masked()
        except SecretUnreadable:
            return _("Unreadable: no configured key opens them (FIELD_ENCRYPTION_KEYS).")
        if not masked:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li><code>{}</code>: {}</li>", sorted(masked.items())),
        )

    @admin.display(description=_("webhook URL"))
    def webhook_url(self, channel: Channel) -> str:
        return channel.webhook_url if channel.pk else "—"

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        update = form.cleaned_data.get("credentials_update") or {}
        if not change:
            obj.credentials = Secrets({key: value for key, value in update.items() if value is not None})
            super().save_model(request, obj, form, change)
            return
        super().save_model(request, obj, form, change)
        if update:
            channel_update(channel=obj, actor=request.user, credentials=update)

    @admin.action(description=_("Archive the selected channels"))
    def archive(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        channels = list(queryset.filter(archived_at__isnull=True))
        for channel in channels:
            channel_archive(channel=channel, actor=request.user)
        count = len(channels)
        self.message_user(request, ngettext("%d channel archived.", "%d channels archived.", count) % count,
                          messages.SUCCESS)


def _channel_permissions() -> QuerySet[Permission]:
    return Permission.objects.filter(content_type__app_label="channels_app", content_type__model="channel") \
        .select_related("content_type")


class ChannelUserObjectPermissionForm(forms.ModelForm):
    # No Meta: admin builds the fields, unscoped (a module-level ModelForm with a foreign
    # key to a tenant-scoped model would query the scoped manager at import).

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        channel, user = cleaned_data.get("content_object"), cleaned_data.get("user")
        if channel is not None and user is not None and not Membership.all_objects.filter(
            tenant_id=channel.tenant_id, user=user
        ).exists():
            self.add_error("user", _("This user is not a member of the channel's tenant."))
        return cleaned_data


@admin.register(ChannelUserObjectPermission)
class ChannelUserObjectPermissionAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    form = ChannelUserObjectPermissionForm
    list_display = ("user", "content_object", "channel_tenant", "permission")
    list_select_related = ("user", "content_object__tenant", "permission__content_type")
    list_filter = ("content_object__tenant",)
    search_fields = ("user__email", "user__full_name", "content_object__name", "content_object__tenant__slug")
    autocomplete_fields = ("user", "content_object")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelUserObjectPermission]:
        return super().get_queryset(request).defer("content_object__credentials")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permission":
            kwargs["queryset"] = _channel_permissions()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("tenant"), ordering="content_object__tenant__slug")
    def channel_tenant(self, permission: ChannelUserObjectPermission) -> Any:
        return permission.content_object.tenant


@admin.register(ChannelGroupObjectPermission)
class ChannelGroupObjectPermissionAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    list_display = ("group", "content_object", "permission")
    list_select_related = ("group", "content_object", "permission__content_type")
    search_fields = ("group__name", "content_object__name")
    autocomplete_fields = ("group", "content_object")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelGroupObjectPermission]:
        return super().get_queryset(request).defer("content_object__credentials")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permission":
            kwargs["queryset"] = _channel_permissions()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
