"""/webhooks/<kind>/<token>: where providers deliver. Verify, store, answer at once.

Under ASGI the ingress (integrations.inbound.ingress) answers POSTs in front of Django; this
view answers them under WSGI and the test client, and answers every provider's handshake.
The seeds' aliases of a channel's webhook URL (integrations.seed_contracts) answer through
`channel_webhook` too, once they know the channel."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from channels_app.models import Channel
from config.metrics import webhook_received_count, webhook_refused_count
from integrations.base import WebhookRejected
from integrations.channel_cache import webhook_channel
from integrations.inbound.ratelimit import webhook_rate_limit, webhook_rate_limited_response
from integrations.inbound.store import webhook_accept
from integrations.inbound.tasks import webhook_events_queue
from integrations.registry import adapter_for


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


@csrf_exempt
def provider_webhook(request: HttpRequest, kind: str, token: str) -> HttpResponse:
    channel = webhook_channel(kind=kind, token=token)
    if channel is None:
        if request.method == "POST":
            webhook_refused_count(kind="unknown", reason="unknown_webhook")
        return _error(404, "not_found", "Unknown webhook.")
    return channel_webhook(request, channel)


def channel_webhook(request: HttpRequest, channel: Channel) -> HttpResponse:
    """A provider's request to `channel`'s webhook: its handshake (GET), answered by the
    channel's adapter; or a delivery (POST), counted against the channel's limit, verified by its
    adapter, stored, and its processing queued once stored ("ok", 200)."""
    adapter = adapter_for(channel)
    if adapter is None:
        return _error(404, "not_found", "Unknown webhook.")
    if request.method == "GET":
        challenge = adapter.verify_handshake(request.GET)
        if challenge is None:
            return HttpResponse("verification failed", status=403, content_type="text/plain")
        return HttpResponse(challenge, content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    refused = webhook_rate_limit(kind=channel.kind, token=channel.webhook_token)
    if refused is not None:
        return webhook_rate_limited_response(refused, kind=channel.kind)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        webhook_refused_count(kind=channel.kind, reason="bad_request")
        return _error(400, "bad_request", "Invalid Content-Length.")
    if int(declared) > settings.WEBHOOK_MAX_BODY_BYTES:
        webhook_refused_count(kind=channel.kind, reason="payload_too_large")
        return _error(413, "payload_too_large", "Body too large.")
    try:
        with transaction.atomic():
            event_id = webhook_accept(channel=channel, body=request.body, headers=request.headers)
            transaction.on_commit(lambda: webhook_events_queue([event_id]))
    except WebhookRejected as rejected:
        webhook_refused_count(kind=channel.kind, reason="invalid_signature")
        return _error(401, "invalid_signature", str(rejected))
    webhook_received_count(kind=channel.kind)
    return HttpResponse("ok", content_type="text/plain")
