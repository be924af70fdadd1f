"""Reads of the outbound webhooks, scoped to the requesting member's tenant."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.access import TenantAccess
from webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, access: TenantAccess) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.all_objects.filter(tenant_id=access.tenant_id)


def webhook_delivery_list(*, access: TenantAccess, endpoint_id: uuid.UUID | None = None) -> QuerySet[WebhookDelivery]:
    """The tenant's deliveries (one endpoint's, given its public id; an unknown id gives none)."""
    found = WebhookDelivery.all_objects.filter(tenant_id=access.tenant_id).select_related("endpoint")
    if endpoint_id is not None:
        found = found.filter(endpoint__public_id=endpoint_id)
    return found
