"""What conversations does when another app publishes an event (settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from accounts.models import User
from conversations.models import Conversation, Team
from conversations.services import conversation_update
from tenants.events import DomainEvent

# A conversation still waiting for someone: everything but resolved.
_OPEN = (Conversation.Status.OPEN, Conversation.Status.PENDING, Conversation.Status.SNOOZED)


def member_conversations_release(event: DomainEvent) -> None:
    """A member was deactivated or removed: the open conversations assigned to them go back to
    the queue (unassigned, each with its conversation.assigned event, so inboxes update live)."""
    if event.name not in ("membership.deactivated", "membership.removed"):
        return
    assigned = Conversation.all_objects.select_related("channel", "assignee").filter(
        tenant_id=event.tenant_pk, assignee_id=event.user_pk, status__in=_OPEN,  # type: ignore[attr-defined]
    ).order_by("pk")
    for conversation in assigned:
        conversation_update(conversation=conversation, actor=None, assignee=None)


def removed_member_teams_leave(event: DomainEvent) -> None:
    """A member was removed from the tenant: they leave its teams (a deactivated one stays in
    them, for a reactivation)."""
    if event.name != "membership.removed":
        return
    Team.members.through.objects.filter(team__tenant_id=event.tenant_pk,
                                        user_id=event.user_pk).delete()  # type: ignore[attr-defined]


def invited_teams_join(event: DomainEvent) -> None:
    """Someone accepted an invitation: they join the teams chosen for them."""
    if event.name != "invitation.accepted":
        return
    team_ids = list(event.team_ids)  # type: ignore[attr-defined]
    if team_ids:
        user = User.objects.get(pk=event.user_pk)  # type: ignore[attr-defined]
        for team in Team.all_objects.filter(tenant_id=event.tenant_pk, public_id__in=team_ids):
            team.members.add(user)
