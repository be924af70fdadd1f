"""The "webhook endpoint disabled" alert's condition (integrations.monitoring.alerts): the
tenant's endpoints that are disabled, whether by an administrator or after failing for too long.
Registered when the app is ready (webhooks.apps), so that integrations knows no webhook model."""

from __future__ import annotations

import datetime as dt

from integrations.models import AlertRule
from integrations.monitoring.alerts import Finding
from webhooks.models import WebhookEndpoint

SUBJECT = "webhook"


def webhook_disabled_findings(rules: list[AlertRule], now: dt.datetime) -> dict[int, list[Finding]]:
    disabled: dict[int, list[Finding]] = {}
    for endpoint in (WebhookEndpoint.all_objects.filter(tenant_id__in={rule.tenant_id for rule in rules},
                                                        is_active=False)
                     .only("pk", "tenant_id", "public_id", "url").order_by("pk")):
        disabled.setdefault(endpoint.tenant_id, []).append(
            Finding(subject_kind=SUBJECT, subject_id=endpoint.pk, label=endpoint.url,
                    url=f"/settings/webhooks/{endpoint.public_id}/"))
    return {rule.pk: disabled[rule.tenant_id] for rule in rules if rule.tenant_id in disabled}
