"""Notices: what a member is told in the product (the bell with its unread count in the top bars,
the /notifications/ page, /api/v1/notices). Other apps send them (integrations' alerts); each
member sees their own in the tenant they work in, and nobody else's."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import TenantAccess
from accounts.models import Membership, Notice, Role, User
from tenants.models import Tenant


def notice_send(*, tenant: Tenant | int, user: User, title: str, body: str = "", url: str = "") -> Notice:
    """One notice to one member (in the caller's transaction)."""
    notice = Notice(tenant_id=tenant if isinstance(tenant, int) else tenant.pk, user=user,
                    title=title[:Notice.TITLE_MAX], body=body, url=url[:Notice.URL_MAX])
    Notice.all_objects.bulk_create([notice])
    return notice


def notice_list(*, access: TenantAccess) -> QuerySet[Notice]:
    """The member's notices in this tenant, newest first."""
    return Notice.all_objects.filter(tenant_id=access.tenant_id, user=access.user).order_by("-created_at", "-id")


def notice_unread_count(*, access: TenantAccess) -> int:
    return notice_unread_count_of(tenant=access.tenant_id, user=access.user)


def notice_unread_count_of(*, tenant: Tenant | int, user: User) -> int:
    return Notice.all_objects.filter(tenant=tenant, user=user, read_at__isnull=True).count()


def notice_unread_label(count: int) -> str:
    """What the bell says to a screen reader (the same words as its template's)."""
    if not count:
        return _("Notifications")
    return ngettext("Notifications: %(counter)s unread", "Notifications: %(counter)s unread", count) % {
        "counter": count}


def notices_mark_read(*, access: TenantAccess, ids: Iterable[uuid.UUID] | None = None) -> int:
    """Mark the member's notices read (those of these public ids; none given: all of them).
    Returns how many were unread. Ids of other members' or tenants' notices change nothing."""
    unread = notice_list(access=access).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(public_id__in=list(ids))
    return unread.update(read_at=timezone.now())


def notices_prune(*, older_than: dt.timedelta, limit: int = 20_000) -> int:
    """Delete the notices sent longer ago than `older_than`, read or not (at most `limit` a call:
    the sweep comes back). The alerts' incidents, which they announced, stay on the alerts page."""
    cutoff = timezone.now() - older_than
    ids = list(Notice.all_objects.filter(created_at__lt=cutoff).order_by().values_list("pk", flat=True)[:limit])
    return Notice.all_objects.filter(pk__in=ids).delete()[0] if ids else 0


def tenant_admins(*, tenant: Tenant | int) -> list[User]:
    """The tenant's active administrators (who are told what goes wrong with its integrations)."""
    memberships = (Membership.all_objects.filter(tenant=tenant, role=Role.TENANT_ADMIN, is_active=True,
                                                 user__is_active=True).select_related("user").order_by("pk"))
    return [membership.user for membership in memberships]
