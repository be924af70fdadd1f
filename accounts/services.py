from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.access import (
    TenantAccess,
    tenant_access_require_operational,
    tenant_access_resolve,
    tenant_access_resolve_public,
    token_ids,
)
from accounts.audit import AuditTarget, audit_record
from accounts.events import MembershipCreated, MembershipRemoved, MembershipRoleChanged
from accounts.models import AuditAction, Membership, Role, User
from accounts.roles import ROLES_USING_A_SEAT
from accounts.tokens import (
    SESSION_CLAIM,
    token_generation_set,
    token_refusal,
    token_session_revoke,
    token_session_set,
)
from accounts.two_factor import TOKEN_CLAIM
from config.errors import ApplicationError, NotFoundError, PermissionDeniedError, ValidationFailed
from tenants.events import publish
from tenants.models import Tenant
from tenants.services import tenant_check_limit


def user_create(*, email: str, password: str | None, full_name: str = "", **fields: Any) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise ValidationFailed("A user with this email exists.", details={"email": ["A user with this email exists."]})
    return User.objects.create_user(email=email, password=password, full_name=full_name, **fields)


def _seats_used(tenant: Tenant) -> int:
    return Membership.all_objects.filter(tenant=tenant, role__in=ROLES_USING_A_SEAT).count()


@transaction.atomic
def membership_create(*, tenant: Tenant, user: User, role: str, actor: User | None = None) -> Membership:
    if role == Role.SUPER_ADMIN:
        raise ValidationFailed("SUPER_ADMIN is a platform role, not a tenant role.", details={"role": ["Not allowed."]})
    if Membership.all_objects.filter(tenant=tenant, user=user).exists():
        raise ValidationFailed("This user is already a member.", details={"user": ["Already a member."]})
    if role in ROLES_USING_A_SEAT:
        tenant_check_limit(tenant=tenant, resource="agents", current=_seats_used(tenant))
    membership = Membership.all_objects.create(tenant=tenant, user=user, role=role)
    audit_record(tenant=tenant, action=AuditAction.MEMBER_ADDED, actor=actor, target=AuditTarget.user(user),
                 details={"role": role})
    publish(MembershipCreated(tenant_pk=tenant.pk, membership_pk=membership.pk, user_pk=user.pk,
                              user_id=str(user.public_id), role=role))
    return membership


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: User | None = None) -> Membership:
    if role == Role.SUPER_ADMIN:
        raise ValidationFailed("SUPER_ADMIN is a platform role, not a tenant role.", details={"role": ["Not allowed."]})
    old_role = membership.role
    if old_role == role:
        return membership
    if role in ROLES_USING_A_SEAT and old_role not in ROLES_USING_A_SEAT:
        tenant_check_limit(tenant=membership.tenant, resource="agents", current=_seats_used(membership.tenant))
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(tenant=membership.tenant_id, action=AuditAction.MEMBER_ROLE_CHANGED, actor=actor,
                 target=AuditTarget.user(membership.user), details={"from": old_role, "to": role})
    publish(
        MembershipRoleChanged(
            tenant_pk=membership.tenant_id, membership_pk=membership.pk, user_pk=membership.user_id,
            user_id=str(membership.user.public_id), old_role=old_role, new_role=role,
        )
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None = None) -> None:
    """Remove a member from the tenant. Their channel access goes with them (channels_app
    hears of it: channels_app.listeners.member_channels_revoke)."""
    tenant_pk, user = membership.tenant_id, membership.user
    membership.delete()
    audit_record(tenant=tenant_pk, action=AuditAction.MEMBER_REMOVED, actor=actor, target=AuditTarget.user(user),
                 details={"role": membership.role})
    publish(MembershipRemoved(tenant_pk=tenant_pk, user_pk=user.pk, user_id=str(user.public_id)))


def tokens_issue(*, access: TenantAccess, session: str | None = None, two_factor: bool = False) -> dict[str, str]:
    """A refresh and an access JWT whose claims carry the user, the tenant (their public ids)
    and the role, the login session they belong to (a new one unless given:
    accounts.tokens), and whether the login gave a two-factor code."""
    refresh = RefreshToken.for_user(access.user)  # user_id: the user's public id (SIMPLE_JWT's USER_ID_FIELD)
    token_session_set(refresh, session=session)
    token_generation_set(refresh, user=access.user)
    refresh["tenant_id"] = str(access.tenant.public_id)
    refresh["tenant"] = access.tenant.slug
    refresh["role"] = access.role
    if two_factor:
        refresh[TOKEN_CLAIM] = True
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def tokens_require_two_factor(*, access: TenantAccess, two_factor: bool) -> None:
    """A tenant that requires two-factor login gives tokens only to a login that gave a code."""
    if access.tenant.two_factor_required and not two_factor:
        raise PermissionDeniedError(
            _("This account requires two-factor login: turn it on in the inbox (Account security), then log in "
              "with its code."), code="two_factor_required")


def tokens_obtain(*, user: User, tenant_slug: str | None = None, two_factor: bool = False) -> dict[str, Any]:
    """A token pair for a user whose password (and code, `two_factor`, if the account has
    two-factor login) was checked (accounts.login), in the tenant named, or in their only one."""
    memberships = list(Membership.all_objects.select_related("tenant").filter(user=user).order_by("tenant__slug"))
    if tenant_slug:
        tenant = next((m.tenant for m in memberships if m.tenant.slug == tenant_slug), None)
        if tenant is None and user.is_superuser:
            tenant = Tenant.objects.filter(slug=tenant_slug).first()
        if tenant is None:
            raise NotFoundError("You are not a member of that account.", code="tenant_not_found",
                                details={"tenant": ["Unknown account."]})
    elif len(memberships) == 1:
        tenant = memberships[0].tenant
    else:
        raise ValidationFailed(
            "You belong to several accounts: say which one.",
            code="tenant_required",
            details={"tenant": ["Required."], "choices": [m.tenant.slug for m in memberships]},
        )
    access = tenant_access_resolve(user_id=user.pk, tenant_id=tenant.pk)
    if access is None:  # pragma: no cover - the membership was removed meanwhile
        raise PermissionDeniedError("You are not a member of that account.")
    tenant_access_require_operational(access)
    tokens_require_two_factor(access=access, two_factor=two_factor)
    # A session login is recorded by Django's user_logged_in (accounts.audit); a token opens none.
    audit_record(tenant=tenant, action=AuditAction.LOGIN_SUCCEEDED, actor=user, details={"door": "api"})
    return {**tokens_issue(access=access, two_factor=two_factor), "tenant": tenant.slug, "role": access.role}


def tokens_refresh(*, refresh: str) -> dict[str, Any]:
    """Rotate a refresh token. The new pair carries the member's *current* role; a removed
    member, or a refresh token that was revoked or already used, gets nothing."""
    token = _refresh_token(refresh)
    ids = token_ids(token)
    access = tenant_access_resolve_public(user_id=ids[0], tenant_id=ids[1]) if ids else None
    if access is None:
        raise ApplicationError("You are no longer a member of this account.", code="membership_revoked",
                               status_code=401)
    refused = token_refusal(token, access.user)
    if refused is not None:
        raise ApplicationError(refused[1], code=refused[0], status_code=401)
    tenant_access_require_operational(access)
    two_factor = bool(token.get(TOKEN_CLAIM))
    tokens_require_two_factor(access=access, two_factor=two_factor)
    token.blacklist()
    return {**tokens_issue(access=access, session=token.get(SESSION_CLAIM), two_factor=two_factor),
            "tenant": access.tenant.slug, "role": access.role}


def tokens_revoke(*, refresh: str) -> None:
    """Log out: the refresh token stops working, and so does every access token of its login
    session, at once."""
    token = _refresh_token(refresh)
    token.blacklist()
    token_session_revoke(token)


def _refresh_token(raw: str) -> RefreshToken:
    """A refresh token that is valid, not revoked, and names its user and tenant by public id
    (one of a version whose claims were integers is not valid any more: log in again)."""
    from rest_framework_simplejwt.exceptions import TokenError

    try:
        # simplejwt annotates the encoded token as `Token`; it is the str (jazzband/djangorestframework-simplejwt#787).
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise ApplicationError(str(exc), code="token_not_valid", status_code=401) from None
    if token_ids(token) is None:
        raise ApplicationError("Token has no tenant claims.", code="token_not_valid", status_code=401)
    return token
