"""What channels_app does when another app publishes an event (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from channels_app.services import channel_access_revoke_all
from tenants.events import DomainEvent


def member_channels_revoke(event: DomainEvent) -> None:
    """A member left the tenant: the channels they worked are no longer theirs (should they
    come back, access is given anew)."""
    if event.name == "membership.removed":
        channel_access_revoke_all(tenant_id=event.tenant_pk, user_id=event.user_pk)  # type: ignore[attr-defined]
