"""Invitations: a tenant administrator invites someone by email; the link in the mail works
once, until it expires (INVITATION_DAYS), and lets the invitee set a name and a password, or,
if the address already has an account (in any tenant), log in with it and join.

The link carries a random token; only its SHA-256 digest is stored, so the table never holds
a working link. A pending invitation takes its plan seat from the start (accounts.services.
seats_used). The channels and teams chosen up front are public ids the inviting layer checked;
the apps that own them give them on InvitationAccepted."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditTarget, audit_record
from accounts.events import InvitationAccepted
from accounts.models import AuditAction, Invitation, Membership, User
from accounts.services import membership_create, role_require_grantable, seats_check, user_create
from accounts.tasks import email_send_queue
from config.errors import ApplicationError, ConflictError, ValidationFailed
from tenants.events import publish
from tenants.models import Tenant


class InvitationUnusable(ApplicationError):
    """The link is unknown, expired, revoked or used (`code` says which)."""

    status_code = 410
    default_code = "invitation_unusable"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def invitation_link(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('invitation-accept', kwargs={'token': token})}"


def _expiry() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=settings.INVITATION_DAYS)


def _target(invitation: Invitation) -> AuditTarget:
    return AuditTarget("invitation", str(invitation.public_id), invitation.email)


def _mail(*, invitation: Invitation, token: str) -> None:
    tenant = Tenant.objects.get(pk=invitation.tenant_id)
    inviter = invitation.invited_by
    context = {"tenant": tenant, "link": invitation_link(token), "role": invitation.get_role_display(),
               "inviter": inviter.get_full_name() if inviter else "", "expires_at": invitation.expires_at,
               "days": settings.INVITATION_DAYS}
    subject = "".join(render_to_string("accounts/email/invitation_subject.txt", context).splitlines())
    email_send_queue(subject=subject, body=render_to_string("accounts/email/invitation.txt", context),
                     to=invitation.email)


@transaction.atomic
def invitation_create(*, tenant: Tenant, actor: User | None, email: str, role: str,
                      channel_ids: Iterable[str] = (), team_ids: Iterable[str] = ()) -> Invitation:
    """Invite `email` to the tenant as `role` and mail the link. `channel_ids` and `team_ids`
    are public ids of the tenant's channels and teams, checked by the caller."""
    email = User.objects.normalize_email(email.strip()).lower()
    if not email or "@" not in email:
        raise ValidationFailed(_("Enter a valid email address."), details={"email": [_("Not an email address.")]})
    role_require_grantable(tenant=tenant, actor=actor, role=role)
    existing = Membership.all_objects.filter(tenant=tenant, user__email=email).first()
    if existing is not None and not existing.is_active:
        raise ConflictError(_("%(email)s is a deactivated member of this account: reactivate them instead.")
                            % {"email": email}, code="already_member", details={"email": [_("Deactivated member.")]})
    if existing is not None:
        raise ConflictError(_("%(email)s is already a member of this account.") % {"email": email},
                            code="already_member", details={"email": [_("Already a member.")]})
    if Invitation.all_objects.filter(tenant=tenant, email=email, accepted_at__isnull=True, revoked_at__isnull=True,
                                     expires_at__gt=timezone.now()).exists():
        raise ConflictError(_("%(email)s was already invited: send that invitation again instead.") % {"email": email},
                            code="already_invited", details={"email": [_("Already invited.")]})
    seats_check(tenant=tenant, role=role)
    token = _new_token()
    invitation = Invitation.all_objects.create(
        tenant=tenant, email=email, role=role, channel_ids=[str(i) for i in channel_ids],
        team_ids=[str(i) for i in team_ids], token_digest=_digest(token), invited_by=actor, expires_at=_expiry())
    audit_record(tenant=tenant, action=AuditAction.INVITATION_SENT, actor=actor, target=_target(invitation),
                 details={"role": role, "channels": invitation.channel_ids, "teams": invitation.team_ids})
    _mail(invitation=invitation, token=token)
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User | None) -> Invitation:
    """Mail a new link (the old one stops working) that lasts INVITATION_DAYS from now."""
    invitation = Invitation.all_objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ConflictError(_("This invitation was already %(status)s.") % {"status": invitation.status_label.lower()},
                            code=f"invitation_{invitation.status}")
    if invitation.status == Invitation.Status.EXPIRED:  # it takes a seat again
        seats_check(tenant=Tenant.objects.get(pk=invitation.tenant_id), role=invitation.role)
    token = _new_token()
    invitation.token_digest, invitation.expires_at, invitation.sent_at = _digest(token), _expiry(), timezone.now()
    invitation.save(update_fields=["token_digest", "expires_at", "sent_at"])
    audit_record(tenant=invitation.tenant_id, action=AuditAction.INVITATION_RESENT, actor=actor,
                 target=_target(invitation))
    _mail(invitation=invitation, token=token)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User | None) -> Invitation:
    """The link stops working; the seat it held is free again."""
    invitation = Invitation.all_objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ConflictError(_("This invitation was already accepted."), code="invitation_accepted")
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(tenant=invitation.tenant_id, action=AuditAction.INVITATION_REVOKED, actor=actor,
                 target=_target(invitation))
    return invitation


def invitation_find(*, token: str, lock: bool = False) -> Invitation:
    """The pending invitation of this link, or InvitationUnusable saying why not."""
    invitations = Invitation.all_objects.select_related("tenant")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(token_digest=_digest(token)).first() if token else None
    if invitation is None:
        raise InvitationUnusable(_("This invitation link is not valid. Ask for a new invitation."),
                                 code="invitation_not_found")
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        raise InvitationUnusable(_("This invitation was already used. Log in with your email and password."),
                                 code="invitation_used")
    if status == Invitation.Status.REVOKED:
        raise InvitationUnusable(_("This invitation was withdrawn. Ask the account's administrator for a new one."),
                                 code="invitation_revoked")
    if status == Invitation.Status.EXPIRED:
        raise InvitationUnusable(_("This invitation expired. Ask the account's administrator to send it again."),
                                 code="invitation_expired")
    return invitation


def invitation_account(*, invitation: Invitation) -> User | None:
    """The account the invited address already has (in any tenant), if any."""
    return User.objects.filter(email=invitation.email).first()


@transaction.atomic
def invitation_accept(*, token: str, user: User | None = None, full_name: str = "", password: str = "") -> Membership:
    """Accept the invitation of this link, once: `user` is the invited address's existing
    account, whose password the caller checked; without one, an account is made with this name
    and password (the password validators apply)."""
    invitation = invitation_find(token=token, lock=True)
    existing = invitation_account(invitation=invitation)
    if user is None:
        if existing is not None:
            raise ConflictError(_("This address already has an account: log in with its password."),
                                code="account_exists")
        try:
            validate_password(password, User(email=invitation.email, full_name=full_name))
        except ValidationError as invalid:
            raise ValidationFailed(" ".join(invalid.messages), details={"password": invalid.messages}) from None
        user = user_create(email=invitation.email, password=password, full_name=full_name.strip()[:150])
    elif existing is None or user.pk != existing.pk:
        raise ValidationFailed(_("This invitation is for another address."), code="invitation_other_address")
    # Accepted first: the invitation's seat becomes the member's.
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership = membership_create(tenant=invitation.tenant, user=user, role=invitation.role, actor=user)
    audit_record(tenant=invitation.tenant_id, action=AuditAction.INVITATION_ACCEPTED, actor=user,
                 target=_target(invitation), details={"role": invitation.role, "new_account": existing is None})
    publish(InvitationAccepted(
        tenant_pk=invitation.tenant_id, membership_pk=membership.pk, user_pk=user.pk, user_id=str(user.public_id),
        invitation_id=str(invitation.public_id), channel_ids=tuple(invitation.channel_ids),
        team_ids=tuple(invitation.team_ids)))
    return membership

