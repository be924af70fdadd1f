"""GET /api/v1/audit: the tenant's audit log, for its administrators."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers

from accounts.audit import audit_entry_list
from accounts.models import AuditEntry
from config.api.filters import DateTimeFilter, UUIDFilter
from config.api.views import ApiViewSet


class AuditTargetOutput(serializers.Serializer):
    type = serializers.CharField(help_text="`user`, `channel`, `contact`, `tenant`, `audit_log`, ...")
    id = serializers.UUIDField(allow_null=True, help_text="Its id (null when it has none).")
    label = serializers.CharField(help_text="What it was called then.")


class AuditEntryOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    actor = serializers.SerializerMethodField(help_text="The actor's user id (null once the user is deleted).")
    actor_label = serializers.CharField(help_text="Who acted, as they were called then (kept after deletion).")
    action = serializers.CharField(help_text="What happened: `login.succeeded`, `member.role_changed`, ...")
    target = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ("id", "created_at", "actor", "actor_label", "action", "target", "ip", "user_agent", "details")

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_actor(self, entry: AuditEntry) -> str | None:
        return str(entry.actor.public_id) if entry.actor is not None else None

    @extend_schema_field(AuditTargetOutput(allow_null=True))
    def get_target(self, entry: AuditEntry) -> dict[str, str | None] | None:
        if not (entry.target_type or entry.target_id):
            return None
        return {"type": entry.target_type, "id": entry.target_id or None, "label": entry.target_label}


class AuditEntryFilter(django_filters.FilterSet):
    actor = UUIDFilter(help_text="The actor's user id.")
    action = django_filters.CharFilter(help_text='An action code, or a family ending in "." (e.g. `channel.`).')
    since = DateTimeFilter(help_text="Entries at or after this time.")
    until = DateTimeFilter(help_text="Entries before this time.")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        # One place filters the audit log (the selector, as the settings page does); the
        # fields above validate the parameters and document them.
        data = self.form.cleaned_data
        return audit_entry_list(tenant=self.request.auth.tenant, actor_id=data.get("actor"),
                                action=data.get("action") or None, since=data.get("since"),
                                until=data.get("until"))


@extend_schema(tags=["audit"])
class AuditEntryViewSet(mixins.ListModelMixin, ApiViewSet):
    """The tenant's audit log, newest first (administrators only). Append-only: there is no
    way to change or delete an entry; the tenant's retention setting removes old ones."""

    serializer_class = AuditEntryOutput
    filterset_class = AuditEntryFilter
    ordering = ("-created_at", "-id")
    required_permissions = {"list": "audit:read"}

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.all_objects.none()
        return audit_entry_list(tenant=self.request.auth.tenant)
