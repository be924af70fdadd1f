"""Filters of /api/v1/members and /api/v1/invitations (they validate and document the query
parameters)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Invitation, Membership, Role


class MemberFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=[(role.value, role.label) for role in Role])
    status = django_filters.ChoiceFilter(choices=[("active", "active"), ("deactivated", "deactivated")],
                                         method="filter_status")
    search = django_filters.CharFilter(method="filter_search", max_length=100, help_text="In the name or email.")

    class Meta:
        model = Membership
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[Membership], name: str, value: str) -> QuerySet[Membership]:
        return queryset.filter(is_active=value == "active") if value else queryset

    def filter_search(self, queryset: QuerySet[Membership], name: str, value: str) -> QuerySet[Membership]:
        value = value.strip()
        return queryset.filter(Q(user__email__icontains=value) | Q(user__full_name__icontains=value)) if value \
            else queryset


class InvitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Invitation.Status.choices, method="filter_status")

    class Meta:
        model = Invitation
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[Invitation], name: str, value: str) -> QuerySet[Invitation]:
        now = timezone.now()
        open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        conditions = {
            Invitation.Status.PENDING: open_ & Q(expires_at__gt=now),
            Invitation.Status.EXPIRED: open_ & Q(expires_at__lte=now),
            Invitation.Status.ACCEPTED: Q(accepted_at__isnull=False),
            Invitation.Status.REVOKED: Q(accepted_at__isnull=True, revoked_at__isnull=False),
        }
        return queryset.filter(conditions[Invitation.Status(value)]) if value else queryset
