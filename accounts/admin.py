from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.audit import AuditTarget, audit_record, audit_record_for_member
from accounts.login import login_unlock
from accounts.models import AuditAction, AuditEntry, Invitation, Membership, Role, User
from tenants.admin import TenantChoiceForm, TenantScopedAdmin, UnscopedInlineMixin


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self) -> str:
        # Same rule as UserManager.create_user: emails are stored lower-case, one per person.
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise self.instance.unique_error_message(User, ["email"])
        return email


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise self.instance.unique_error_message(User, ["email"])
        return email


class MembershipForm(TenantChoiceForm):
    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role == Role.SUPER_ADMIN:  # as membership_create refuses it
            raise ValidationError(_("Platform administrator is a platform role, not a tenant role."))
        return role


class MembershipInline(UnscopedInlineMixin, admin.TabularInline):
    """A user's tenants. The tenant is chosen for a new row and fixed afterwards."""

    model = Membership
    form = MembershipForm
    fields = ("tenant", "role", "created_at")
    readonly_fields = ("created_at",)
    extra = 0

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*(super().get_exclude(request, obj) or ()), "tenant"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("tenant")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "usable_password", "password1", "password2")}),
    )
    list_display = ("email", "full_name", "is_staff", "is_superuser", "is_active", "last_login", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "memberships__role")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipInline,)
    actions = ("login_unlock",)

    @admin.action(description=_("Unlock login (forget failed attempts)"), permissions=["change"])
    def login_unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        records = 0
        for user in queryset:
            records += login_unlock(email=user.email)
            self.log_change(request, user, "Login unlocked (failed attempts forgotten).")  # admin's history
        self.message_user(request, ngettext("Login unlocked: %(records)d failed-attempt record forgotten.",
                                            "Login unlocked: %(records)d failed-attempt records forgotten.",
                                            records) % {"records": records})

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # Memberships are added once the user exists.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            audit_record_for_member(
                user=obj, actor=request.user,  # type: ignore[arg-type]
                action=AuditAction.MEMBER_REACTIVATED if obj.is_active else AuditAction.MEMBER_DEACTIVATED,
                target=AuditTarget.user(obj))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:
            _audit_membership_forms(request, formset)


def _audit_membership_change(request: HttpRequest, membership: Membership, form: Any, *, added: bool) -> None:
    actor: User = request.user  # type: ignore[assignment]
    target = AuditTarget.user(membership.user)
    if added:
        audit_record(tenant=membership.tenant_id, action=AuditAction.MEMBER_ADDED, actor=actor, target=target,
                     details={"role": membership.role})
    elif "role" in form.changed_data:
        audit_record(tenant=membership.tenant_id, action=AuditAction.MEMBER_ROLE_CHANGED, actor=actor,
                     target=target, details={"from": form.initial.get("role"), "to": membership.role})


def _audit_membership_removed(request: HttpRequest, membership: Membership) -> None:
    audit_record(tenant=membership.tenant_id, action=AuditAction.MEMBER_REMOVED,
                 actor=request.user, target=AuditTarget.user(membership.user),  # type: ignore[arg-type]
                 details={"role": membership.role})


def _audit_membership_forms(request: HttpRequest, formset: Any) -> None:
    """Staff's changes to memberships in Django admin go to each tenant's audit log as the
    services' own do (accounts.services)."""
    for membership in formset.deleted_objects:
        _audit_membership_removed(request, membership)
    new = {membership.pk for membership in formset.new_objects}
    for form in formset.forms:
        membership = form.instance
        if membership.pk is None or form in formset.deleted_forms or not form.has_changed():
            continue
        _audit_membership_change(request, membership, form, added=membership.pk in new)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    form = MembershipForm
    list_display = ("user", "tenant", "role", "is_active", "created_at")
    list_select_related = ("user", "tenant")
    list_filter = ("role", "is_active", "tenant")
    search_fields = ("user__email", "user__full_name", "tenant__slug", "tenant__name")
    autocomplete_fields = ("user",)
    # Deactivation ends sessions and sockets and releases conversations: the tenant's Members
    # page and API do it (accounts.services.membership_deactivate), not a checkbox here.
    readonly_fields = ("is_active", "deactivated_at", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_membership_change(request, obj, form, added=not change)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        super().delete_model(request, obj)
        _audit_membership_removed(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        removed = list(queryset.select_related("user"))
        super().delete_queryset(request, queryset)
        for membership in removed:
            _audit_membership_removed(request, membership)


@admin.register(Invitation)
class InvitationAdmin(TenantScopedAdmin):
    """Platform staff see every tenant's invitations; tenants send, resend and revoke them on
    Settings → Members (the link is never stored: only its digest)."""

    list_display = ("email", "tenant", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_select_related = ("tenant", "invited_by")
    list_filter = ("role", "tenant")
    search_fields = ("email", "tenant__slug", "tenant__name")
    exclude = ("token_digest",)
    readonly_fields = ("tenant", "email", "role", "channel_ids", "team_ids", "invited_by", "created_at", "sent_at",
                       "expires_at", "accepted_at", "accepted_by", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantScopedAdmin):
    """Platform staff read every tenant's audit log; nobody changes it."""

    list_display = ("created_at", "tenant", "actor_label", "action", "target_type", "target_label", "ip")
    list_select_related = ("tenant",)
    list_filter = ("action", "tenant")
    search_fields = ("actor_label", "target_label", "target_id", "tenant__slug", "ip")
    date_hierarchy = "created_at"
    readonly_fields = ("tenant", "created_at", "actor", "actor_label", "action", "target_type", "target_id",
                       "target_label", "ip", "user_agent", "details")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
