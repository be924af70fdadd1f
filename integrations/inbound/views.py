"""/webhooks/<kind>/<token>: where providers deliver. Verify, store, answer at once."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.base import WebhookRejected
from integrations.registry import adapter_for
from integrations.services import webhook_accept, webhook_channel


@csrf_exempt
def provider_webhook(request: HttpRequest, kind: str, token: str) -> HttpResponse:
    channel = webhook_channel(kind=kind, token=token)
    if channel is None:
        return JsonResponse({"error": {"code": "not_found", "message": "Unknown webhook.", "details": {}}}, status=404)
    if request.method == "GET":
        challenge = adapter_for(channel).verify_handshake(request.GET) if adapter_for(channel) else None
        if challenge is None:
            return HttpResponse("verification failed", status=403, content_type="text/plain")
        return HttpResponse(challenge, content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.WEBHOOK_MAX_BODY_BYTES:
        return JsonResponse({"error": {"code": "payload_too_large", "message": "Body too large.", "details": {}}},
                            status=413)
    try:
        webhook_accept(channel=channel, body=request.body, headers=request.headers)
    except WebhookRejected as rejected:
        return JsonResponse({"error": {"code": "invalid_signature", "message": str(rejected), "details": {}}},
                            status=401)
    return HttpResponse("ok", content_type="text/plain")
