"""What the seed contracts read: a tenant's WhatsApp channels in the seeds' words, and the channel
a seed's webhook names. Every read of a member goes through the API's own scoping
(channels_app.selectors.channel_list, conversations.selectors.message_visible)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Max, QuerySet

from accounts.access import TenantAccess
from channels_app.models import Channel
from channels_app.selectors import channel_list
from config.ids import uuid_or_none
from conversations.models import Conversation, Message
from conversations.selectors import message_visible
from integrations.base import WebhookRejected
from integrations.inbound.store import webhook_verify
from integrations.registry import adapter_class_for
from integrations.seed_contracts.kinds import QR_TYPES, SEED_TYPES

# A unified webhook's name (an instance's, a session's) is one channel's; a few more are read in
# case tenants with servers of their own chose the same name (the secret tells them apart).
MAX_NAMESAKES = 10


def seed_providers() -> list[dict[str, Any]]:
    """Each of the seeds' types: the kind that serves it, whether a provider of this installation
    does, and whether the installation provides its server (a name is all a number needs)."""
    providers = []
    for seed_type, kind in SEED_TYPES.items():
        adapter = adapter_class_for(kind)
        providers.append({"type": seed_type, "kind": kind, "available": adapter is not None,
                          "sharedServer": adapter is not None and adapter.connects_without_settings()})
    return providers


def seed_instances(*, access: TenantAccess) -> QuerySet[Channel]:
    """The member's WhatsApp channels of the seeds' types (not archived), oldest first."""
    return channel_list(access=access).filter(kind__in=SEED_TYPES.values()).order_by("created_at", "pk")


def seed_default_qr_channel(*, access: TenantAccess) -> Channel | None:
    """Seed 001's number: the account's oldest channel paired by QR code (of QR_TYPES)."""
    return channel_list(access=access).filter(kind__in=[SEED_TYPES[name] for name in QR_TYPES]).order_by("pk").first()


def seed_tenant_is(access: TenantAccess, reference: str) -> bool:
    """Whether a seed's `{tenantId}` names the member's own account: by its public id or its slug."""
    return reference == access.tenant.slug or uuid_or_none(reference) == access.tenant.public_id


def seed_channel_messages(*, access: TenantAccess, channel: Channel) -> QuerySet[Message]:
    return message_visible(access=access).filter(channel_id=channel.pk)


def seed_last_activity(*, channel: Channel) -> dt.datetime | None:
    """When something last happened on the channel: its latest conversation's activity, else its
    last change of status."""
    latest: dt.datetime | None = Conversation.all_objects.filter(channel_id=channel.pk).aggregate(
        latest=Max("last_activity_at"))["latest"]
    return latest or channel.status_changed_at


def seed_instance_webhook_channel(*, tenant_id: uuid.UUID, instance_id: uuid.UUID) -> Channel | None:
    """The live WhatsApp channel `instance_id` of the tenant `tenant_id` (public ids; a webhook
    carries no token of a member, so this reads across tenants, as the webhook endpoint does)."""
    return (Channel.all_objects.select_related("tenant")
            .filter(public_id=instance_id, tenant__public_id=tenant_id, kind__in=SEED_TYPES.values(),
                    archived_at__isnull=True).first())


def seed_webhook_channel(*, kind: str, body: bytes, headers: Mapping[str, str]) -> Channel | None:
    """The live channel of `kind` that a unified webhook's body names (its adapter says how a
    body names one), None when it names none. When several channels bear the name, the one whose
    secret the delivery proves; if none does, the first (its adapter then refuses the delivery)."""
    adapter = adapter_class_for(kind)
    named = adapter.webhook_channels_named(body) if adapter is not None else None
    if named is None:
        return None
    channels = list(Channel.all_objects.select_related("tenant")
                    .filter(named, kind=kind, archived_at__isnull=True).order_by("pk")[:MAX_NAMESAKES])
    if len(channels) > 1:
        for channel in channels:
            try:
                webhook_verify(channel=channel, body=body, headers=headers)
            except WebhookRejected:
                continue
            return channel
    return channels[0] if channels else None
