"""Reads of the outbound webhooks, scoped to the requesting member's tenant."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.access import TenantAccess
from integrations.models import ActivitySlot
from integrations.monitoring.figures import Subject
from webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, access: TenantAccess) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.all_objects.filter(tenant_id=access.tenant_id)


def webhook_delivery_list(*, access: TenantAccess, endpoint_id: uuid.UUID | None = None) -> QuerySet[WebhookDelivery]:
    """The tenant's deliveries (one endpoint's, given its public id; an unknown id gives none)."""
    found = WebhookDelivery.all_objects.filter(tenant_id=access.tenant_id).select_related("endpoint")
    if endpoint_id is not None:
        found = found.filter(endpoint__public_id=endpoint_id)
    return found


def webhook_health_subjects(access: TenantAccess) -> list[Subject]:
    """The tenant's endpoints as the integrations health page names them."""
    found = []
    for endpoint in webhook_endpoint_list(access=access).order_by("created_at", "pk"):
        if not endpoint.is_active:
            state, label, since, healthy = "disabled", _("Disabled"), endpoint.disabled_at, False
        elif endpoint.failing_since is not None:
            state, label, since, healthy = "failing", _("Failing"), endpoint.failing_since, False
        else:
            state, label, since, healthy = "active", _("Active"), None, True
        found.append(Subject(kind=ActivitySlot.Subject.WEBHOOK, pk=endpoint.pk, public_id=str(endpoint.public_id),
                             name=endpoint.description or endpoint.url, detail=endpoint.url, state=state,
                             state_label=str(label), state_since=since, healthy=healthy,
                             url=reverse("settings-webhook", args=[endpoint.public_id])))
    return found
