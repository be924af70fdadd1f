"""What channels_app does when another app publishes an event (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from accounts.models import User
from channels_app.services import channel_access_revoke_all, invited_channels_grant
from tenants.events import DomainEvent


def member_channels_revoke(event: DomainEvent) -> None:
    """A member left the tenant: the channels they worked are no longer theirs (should they
    come back, access is given anew)."""
    if event.name == "membership.removed":
        channel_access_revoke_all(tenant_id=event.tenant_pk, user_id=event.user_pk)  # type: ignore[attr-defined]


def invitation_channels_grant(event: DomainEvent) -> None:
    """Someone accepted an invitation: the channels chosen for them are theirs now."""
    if event.name == "invitation.accepted":
        user = User.objects.get(pk=event.user_pk)  # type: ignore[attr-defined]
        invited_channels_grant(tenant_id=event.tenant_pk, user=user,
                               channel_ids=event.channel_ids)  # type: ignore[attr-defined]
