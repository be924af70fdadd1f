"""Reads of accounts: the tenant's members and invitations, as the members page and the API
list them."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Invitation, Membership
from tenants.models import Tenant

MEMBER_STATUSES = ("active", "deactivated")


def member_list(*, tenant: Tenant, search: str = "", role: str = "", status: str = "") -> QuerySet[Membership]:
    """The tenant's members with their user, and `two_factor` (whether they log in with a code);
    filtered by name or email, role, and status (active / deactivated)."""
    members = (
        Membership.all_objects.filter(tenant=tenant).select_related("user")
        .annotate(two_factor=Exists(TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)))
    )
    search = search.strip()
    if search:
        members = members.filter(Q(user__email__icontains=search) | Q(user__full_name__icontains=search))
    if role:
        members = members.filter(role=role)
    if status == "active":
        members = members.filter(is_active=True)
    elif status == "deactivated":
        members = members.filter(is_active=False)
    return members.order_by("user__email", "pk")


def member_get(*, tenant: Tenant, user_id: object) -> Membership | None:
    """The member of the tenant whose user has this public id (None: not a member here)."""
    return member_list(tenant=tenant).filter(user__public_id=user_id).first()


def invitation_list(*, tenant: Tenant, open_only: bool = False) -> QuerySet[Invitation]:
    """The tenant's invitations, newest first; `open_only`: those not accepted or revoked
    (pending or expired: they can still be sent again)."""
    invitations = Invitation.all_objects.filter(tenant=tenant).select_related("invited_by")
    if open_only:
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    return invitations.order_by("-created_at", "-id")


def invitation_pending_q() -> Q:
    return Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
