"""API keys, seen with the channels they may be limited to (channels_app, which accounts does
not know): the settings page and the API check and name the channels here; the rules (scopes,
expiry, hashing, revocation) are accounts.api_keys'."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from accounts.api_keys import ApiKeyCreated, api_key_create
from accounts.models import ApiKey, User
from integrations.members import tenant_channels, tenant_channels_by_public_id
from tenants.models import Tenant


def api_key_make(*, tenant: Tenant, actor: User, name: str, scope: str, channel_ids: Sequence[uuid.UUID | str] = (),
                 expires_in_days: int | None = None) -> ApiKeyCreated:
    """Make a key limited to these channels of the tenant (none: every channel)."""
    channels = tenant_channels_by_public_id(tenant=tenant, channel_ids=channel_ids) if channel_ids else []
    return api_key_create(tenant=tenant, actor=actor, name=name, scope=scope,
                          channel_ids=[channel.public_id for channel in channels], expires_in_days=expires_in_days)


def api_keys_channel_names(*, tenant: Tenant, api_keys: Iterable[ApiKey]) -> dict[int, list[str]]:
    """The names of the channels each key is limited to, by key pk (one query)."""
    names = {str(channel.public_id): channel.name for channel in tenant_channels(tenant=tenant)}
    return {api_key.pk: sorted(names[channel_id] for channel_id in api_key.channel_ids if channel_id in names)
            for api_key in api_keys}
