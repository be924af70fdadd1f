from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
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
from accounts.events import (
    MembershipCreated,
    MembershipDeactivated,
    MembershipReactivated,
    MembershipRemoved,
    MembershipRoleChanged,
)
from accounts.models import AuditAction, Invitation, Membership, Role, User
from accounts.roles import ROLES_USING_A_SEAT
from accounts.tokens import SESSION_CLAIM, token_refusal, token_session_revoke, token_session_set
from accounts.two_factor import TOKEN_CLAIM
from config.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PlanLimitExceeded,
    ValidationFailed,
)
from tenants.events import publish
from tenants.models import Tenant
from tenants.services import tenant_check_limit


def user_create(*, email: str, password: str | None, full_name: str = "", **fields: Any) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise ValidationFailed("A user with this email exists.", details={"email": ["A user with this email exists."]})
    return User.objects.create_user(email=email, password=password, full_name=full_name, **fields)


# The order of roles: nobody grants a role above their own.
ROLE_RANK: dict[str, int] = {Role.SUPER_ADMIN: 4, Role.TENANT_ADMIN: 3, Role.MANAGER: 2, Role.AGENT: 1, Role.VIEWER: 0}
# The roles a tenant gives (the platform's administrator stays with platform staff).
TENANT_ROLES = (Role.TENANT_ADMIN, Role.MANAGER, Role.AGENT, Role.VIEWER)


def _rank(role: str) -> int:
    return ROLE_RANK.get(role, -1)


def _seats(tenant: Tenant) -> tuple[int, int]:
    members = Membership.all_objects.filter(tenant=tenant, role__in=ROLES_USING_A_SEAT, is_active=True).count()
    invited = Invitation.all_objects.filter(
        tenant=tenant, role__in=ROLES_USING_A_SEAT, accepted_at__isnull=True, revoked_at__isnull=True,
        expires_at__gt=timezone.now()).count()
    return members, invited


def seats_used(tenant: Tenant) -> int:
    """Agent seats of the plan taken: active members of a role that takes one, and pending
    invitations to such a role (an invitation accepted later must still find its seat)."""
    return sum(_seats(tenant))


def seats_check(*, tenant: Tenant, role: str) -> None:
    """Refuse one more member (or invitation) of `role` past the plan's agent seats, saying how
    many pending invitations hold seats when some do."""
    if role not in ROLES_USING_A_SEAT:
        return
    members, invited = _seats(tenant)
    try:
        tenant_check_limit(tenant=tenant, resource="agents", current=members + invited)
    except PlanLimitExceeded as refused:
        if not invited:
            raise
        raise PlanLimitExceeded(
            _("Your plan allows %(limit)s agent seats: %(members)s are taken by members and %(invited)s by pending "
              "invitations. Revoke an invitation, deactivate a member or upgrade the plan.")
            % {"limit": refused.details["limit"], "members": members, "invited": invited},
            details={**refused.details, "members": members, "invitations": invited}) from None


def actor_role(*, tenant: Tenant | int, actor: User | None) -> str | None:
    """The role `actor` acts with in the tenant (None: the system, or platform staff in a command)."""
    if actor is None:
        return None
    if actor.is_superuser:
        return Role.SUPER_ADMIN
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    return (Membership.all_objects.filter(tenant_id=tenant_id, user=actor, is_active=True)
            .values_list("role", flat=True).first()) or ""


def role_require_grantable(*, tenant: Tenant | int, actor: User | None, role: str) -> None:
    """A role a tenant gives, and not above the actor's own."""
    if role not in TENANT_ROLES:
        raise ValidationFailed(_("Choose administrator, manager, agent or viewer."),
                               details={"role": [_("Not a role of this account.")]})
    own = actor_role(tenant=tenant, actor=actor)
    if own is not None and _rank(own) < _rank(role):
        raise PermissionDeniedError(_("You cannot give a role above your own."), code="role_above_own",
                                    details={"role": [_("Above your own role.")]})


def _require_another_admin(membership: Membership) -> None:
    """Refuse to leave the tenant without an active administrator (the rows are locked, so two
    administrators demoting each other at once cannot both succeed)."""
    if membership.role != Role.TENANT_ADMIN or not membership.is_active:
        return
    admins = list(Membership.all_objects.select_for_update().filter(
        tenant_id=membership.tenant_id, role=Role.TENANT_ADMIN, is_active=True).values_list("pk", flat=True))
    if set(admins) <= {membership.pk}:
        raise ConflictError(_("This is the account's last administrator: make someone else administrator first."),
                            code="last_administrator")


@transaction.atomic
def membership_create(*, tenant: Tenant, user: User, role: str, actor: User | None = None) -> Membership:
    if role == Role.SUPER_ADMIN:
        raise ValidationFailed("SUPER_ADMIN is a platform role, not a tenant role.", details={"role": ["Not allowed."]})
    if Membership.all_objects.filter(tenant=tenant, user=user).exists():
        raise ValidationFailed("This user is already a member.", details={"user": ["Already a member."]})
    seats_check(tenant=tenant, role=role)
    membership = Membership.all_objects.create(tenant=tenant, user=user, role=role)
    audit_record(tenant=tenant, action=AuditAction.MEMBER_ADDED, actor=actor, target=AuditTarget.user(user),
                 details={"role": role})
    publish(MembershipCreated(tenant_pk=tenant.pk, membership_pk=membership.pk, user_pk=user.pk,
                              user_id=str(user.public_id), role=role))
    return membership


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: User | None = None) -> Membership:
    """Give a member another role: one the tenant gives, not above the actor's own, and never
    the last active administrator's."""
    role_require_grantable(tenant=membership.tenant_id, actor=actor, role=role)
    old_role = membership.role
    if old_role == role:
        return membership
    own = actor_role(tenant=membership.tenant_id, actor=actor)
    if own is not None and _rank(own) < _rank(old_role):
        raise PermissionDeniedError(_("You cannot change the role of someone above you."), code="role_above_own")
    _require_another_admin(membership)
    if membership.is_active and role in ROLES_USING_A_SEAT and old_role not in ROLES_USING_A_SEAT:
        seats_check(tenant=membership.tenant, role=role)
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
    _require_another_admin(membership)
    tenant_pk, user = membership.tenant_id, membership.user
    membership.delete()
    audit_record(tenant=tenant_pk, action=AuditAction.MEMBER_REMOVED, actor=actor, target=AuditTarget.user(user),
                 details={"role": membership.role})
    publish(MembershipRemoved(tenant_pk=tenant_pk, user_pk=user.pk, user_id=str(user.public_id)))


@transaction.atomic
def membership_deactivate(*, membership: Membership, actor: User | None = None) -> Membership:
    """Stop a member's access at once: every request resolves the current membership
    (accounts.access), so their sessions and JWTs are refused from the next request, and their
    open sockets close on MembershipDeactivated; the conversations assigned to them go back to
    the queue (conversations.listeners). Their channel access is kept for a reactivation."""
    if not membership.is_active:
        return membership
    _require_another_admin(membership)
    membership.is_active, membership.deactivated_at = False, timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    audit_record(tenant=membership.tenant_id, action=AuditAction.MEMBER_DEACTIVATED, actor=actor,
                 target=AuditTarget.user(membership.user), details={"role": membership.role})
    publish(MembershipDeactivated(tenant_pk=membership.tenant_id, membership_pk=membership.pk,
                                  user_pk=membership.user_id, user_id=str(membership.user.public_id)))
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership, actor: User | None = None) -> Membership:
    """Give a deactivated member their access back (a seat of the plan again)."""
    if membership.is_active:
        return membership
    seats_check(tenant=membership.tenant, role=membership.role)
    membership.is_active, membership.deactivated_at = True, None
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    audit_record(tenant=membership.tenant_id, action=AuditAction.MEMBER_REACTIVATED, actor=actor,
                 target=AuditTarget.user(membership.user), details={"role": membership.role})
    publish(MembershipReactivated(tenant_pk=membership.tenant_id, membership_pk=membership.pk,
                                  user_pk=membership.user_id, user_id=str(membership.user.public_id)))
    return membership


def membership_update(*, membership: Membership, actor: User | None, role: str | None = None,
                      is_active: bool | None = None) -> Membership:
    """What the members page and the API change on a member: role and/or whether active."""
    with transaction.atomic():
        if role is not None:
            membership_change_role(membership=membership, role=role, actor=actor)
        if is_active is True:
            membership_reactivate(membership=membership, actor=actor)
        elif is_active is False:
            membership_deactivate(membership=membership, actor=actor)
    return membership


def tokens_issue(*, access: TenantAccess, session: str | None = None, two_factor: bool = False) -> dict[str, str]:
    """A refresh and an access JWT whose claims carry the user, the tenant (their public ids)
    and the role, the login session they belong to (a new one unless given:
    accounts.tokens), and whether the login gave a two-factor code."""
    refresh = RefreshToken.for_user(access.user)  # user_id: the user's public id (SIMPLE_JWT's USER_ID_FIELD)
    token_session_set(refresh, session=session)
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
    memberships = list(Membership.all_objects.select_related("tenant").filter(user=user, is_active=True)
                       .order_by("tenant__slug"))
    if tenant_slug:
        tenant = next((m.tenant for m in memberships if m.tenant.slug == tenant_slug), None)
        if tenant is None and user.is_superuser:
            tenant = Tenant.objects.filter(slug=tenant_slug).first()
        if tenant is None:
            raise NotFoundError("You are not a member of that account.", code="tenant_not_found",
                                details={"tenant": ["Unknown account."]})
    elif len(memberships) == 1:
        tenant = memberships[0].tenant
    elif not memberships:  # every membership removed or deactivated
        raise PermissionDeniedError(_("You are not an active member of any account."), code="no_membership")
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
