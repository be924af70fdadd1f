"""The seeds' webhook addresses, aliases of a channel's own webhook URL: once the channel is known
(by the ids in the URL, or by the name the body gives), the delivery goes through the same code
as /webhooks/<kind>/<token> (integrations.inbound.views.channel_webhook): the same limit, the
same verification by the channel's adapter before anything is kept, the same storage and
processing. A stored delivery is answered {"received": true}."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from config.api.errors import error_body
from config.api.schema import Error
from integrations.inbound.views import channel_webhook
from integrations.seed_contracts.kinds import SEED_TYPES
from integrations.seed_contracts.schema import SEED_000, SEED_001, SEED_004, SeedSchema
from integrations.seed_contracts.selectors import seed_instance_webhook_channel, seed_webhook_channel
from integrations.seed_contracts.serializers import ReceivedOutput

_ANSWERS = {
    200: ReceivedOutput,
    400: OpenApiResponse(Error, description="An invalid Content-Length."),
    401: OpenApiResponse(Error, description="invalid_signature: the delivery does not prove its provider sent it "
                                    "(nothing is kept)."),
    404: OpenApiResponse(Error, description="No such number."),
    413: OpenApiResponse(Error, description="The body is too large."),
    429: OpenApiResponse(Error, description="Too many deliveries to this number a minute; send it again later."),
}
_ANY_OBJECT = {"type": "object", "additionalProperties": True}


def _not_found() -> JsonResponse:
    return JsonResponse(error_body("not_found", "Unknown webhook."), status=404)


def _received(answer: HttpResponse) -> HttpResponse:
    """The pipeline's answer, with a stored delivery's "ok" in the seeds' words."""
    if answer.status_code == 200:
        return JsonResponse({"received": True})
    return answer


# A provider posts here: no member's token, no API rate limit (the channel's own webhook limit
# applies), the raw body read as it came.
class _WebhookView(APIView):

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes: list[type[BasePermission]] = [AllowAny]
    throttle_classes: list[type[BaseThrottle]] = []
    schema = SeedSchema()
    api_errors = False


# Seed 000: /api/webhooks/whatsapp/{tenantId}/{instanceId}.
class InstanceWebhookView(_WebhookView):

    seed_tag = SEED_000

    @extend_schema(
        request={"application/json": _ANY_OBJECT}, responses=_ANSWERS, auth=[], operation_id="seed_instance_webhook",
        summary="A provider's delivery to a WhatsApp number (alias of its webhook URL)",
        description="`tenantId`: the account's id; `instanceId`: the number's id (both must match, else 404). "
            "Verified as at the number's own webhook URL (the provider's signature or secret), stored "
            "and processed the same way.")
    def post(self, request: Request, **kwargs: uuid.UUID) -> HttpResponse:
        channel = seed_instance_webhook_channel(tenant_id=kwargs["tenantId"], instance_id=kwargs["instanceId"])
        return _received(channel_webhook(request._request, channel)) if channel is not None else _not_found()

    @extend_schema(
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The challenge, echoed."),
           (403, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="Verification failed."),
           404: OpenApiResponse(Error, description="No such number.")},
        auth=[], operation_id="seed_instance_webhook_verify",
        summary="A provider's verification of this address (Meta's subscription check)",
        description="Answered by the number's provider as at its own webhook URL (the Cloud API's hub.challenge).")
    def get(self, request: Request, **kwargs: uuid.UUID) -> HttpResponse:
        channel = seed_instance_webhook_channel(tenant_id=kwargs["tenantId"], instance_id=kwargs["instanceId"])
        return channel_webhook(request._request, channel) if channel is not None else _not_found()


# One address for every channel of a kind: the body names its channel (the kind's adapter says
# how: integrations.base.ChannelAdapter.webhook_channels_named).
class _UnifiedWebhookView(_WebhookView):

    seed_type = ""

    def post(self, request: Request, **kwargs: Any) -> HttpResponse:
        raw = request._request
        channel = seed_webhook_channel(kind=SEED_TYPES[self.seed_type], body=raw.body, headers=raw.headers)
        return _received(channel_webhook(raw, channel)) if channel is not None else _not_found()


# Seed 001: POST /api/webhooks/whatsapp.
@extend_schema_view(post=extend_schema(
    request={"application/json": _ANY_OBJECT}, responses=_ANSWERS, auth=[],
    operation_id="seed_pairing_service_webhook",
    summary="The connection service's deliveries, for every number",
    description="The body names the number's session (as the service posts it); the delivery is then verified "
                "with that number's webhook secret (the service's signature header), stored and processed as "
                "at the number's own webhook URL. A body that names no number: 404."))
class ConnectionServiceWebhookView(_UnifiedWebhookView):

    seed_tag = SEED_001
    seed_type = "BAILEYS"


# Seed 004: POST /webhooks/evolution.
@extend_schema_view(post=extend_schema(
    request={"application/json": _ANY_OBJECT}, responses=_ANSWERS, auth=[],
    operation_id="seed_evolution_webhook",
    summary="An Evolution API server's deliveries, for every instance",
    description="The body's `instance` names the number (among EVOLUTION numbers); the delivery is then "
                "verified with that number's secret, stored and processed as at the number's own webhook URL. "
                "An unknown instance: 404; a wrong secret: 401, nothing kept."))
class EvolutionWebhookView(_UnifiedWebhookView):

    seed_tag = SEED_004
    seed_type = "EVOLUTION"
