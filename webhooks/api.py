"""/api/v1/webhooks: the account's outbound webhook endpoints (tenant admins: webhooks:read,
webhooks:write), their delivery logs, replays and test events. The signing secret is shown
when the endpoint is registered and when it is rotated, never again."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.schema import Error
from config.api.serializers import PublicIdField, StrictBooleanField, StrictCharField
from config.api.views import ApiView, ApiViewSet
from webhooks.models import DESCRIPTION_MAX, URL_MAX, WebhookDelivery, WebhookEndpoint
from webhooks.payloads import EVENT_NAMES
from webhooks.selectors import webhook_delivery_list, webhook_endpoint_list
from webhooks.services import (
    UNSET,
    webhook_delivery_replay,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_register,
    webhook_endpoint_update,
    webhook_secret_rotate,
    webhook_test_send,
)
from webhooks.tasks import webhook_endpoints_deliver_queue

READ, WRITE = "webhooks:read", "webhooks:write"
REFUSED = OpenApiResponse(Error, description="The URL is refused (not http(s), or not a public address), or an "
                                             "event is unknown; `details` names the field.")
DISABLED = OpenApiResponse(Error, description="The endpoint is disabled (code `endpoint_disabled`): enable it first.")
EVENTS_HELP = "Events to receive: " + "; ".join(f"`{name}`: {text}" for name, text in EVENT_NAMES.items())


class WebhookOutput(serializers.ModelSerializer):
    id = PublicIdField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_NAMES)), read_only=True)
    secret_rotated_until = serializers.DateTimeField(
        source="previous_secret_expires_at", read_only=True, allow_null=True,
        help_text="Until then, each delivery is signed with the previous secret too (after a rotation).")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "disabled_at", "disabled_reason",
                  "failing_since", "secret_rotated_until", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookWithSecret(WebhookOutput):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (Standard Webhooks, `whsec_…`): shown now only; keep it.")

    class Meta(WebhookOutput.Meta):
        fields = [*WebhookOutput.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return str(self.context["secret"])


class WebhookInput(serializers.Serializer):
    # A string the service checks (422 naming `url`): an http(s) URL whose host is public.
    url = StrictCharField(max_length=URL_MAX, help_text="Where events are POSTed: a public http(s) URL.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_NAMES)), min_length=1,
                                   max_length=len(EVENT_NAMES), help_text=EVENTS_HELP)
    description = StrictCharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)



class WebhookDeliveryOutput(serializers.ModelSerializer):
    id = PublicIdField(help_text="Sent as the `webhook-id` header (the same on every attempt and replay).")
    webhook_id = PublicIdField(source="endpoint.public_id")
    event_id = serializers.UUIDField(read_only=True, help_text="The event's id (the `id` of the body).")
    payload = serializers.JSONField(read_only=True, help_text="The body sent (see the WebhookEnvelope component).")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "event", "event_id", "status", "attempts", "payload", "response_status",
                  "response_excerpt", "latency_ms", "error", "next_attempt_at", "last_attempt_at", "delivered_at",
                  "created_at"]
        read_only_fields = fields


class EnableInput(serializers.Serializer):
    replay_missed = StrictBooleanField(
        default=False, help_text="Also send what it missed: deliveries skipped while it was disabled and those "
                                 "given up since it began failing.")


class EnableOutput(serializers.Serializer):
    webhook = WebhookOutput()
    replayed = serializers.IntegerField(help_text="How many deliveries are sent again.")


class EventTypeOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


@extend_schema_view(
    list=extend_schema(summary="The account's webhook endpoints"),
    retrieve=extend_schema(summary="A webhook endpoint"),
)
class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = WebhookOutput
    ordering = ("-created_at", "-id")
    required_permissions = {
        "list": READ, "retrieve": READ, "register": WRITE, "partial_update": WRITE, "destroy": WRITE,
        "rotate_secret": WRITE, "test": WRITE, "enable": WRITE, "disable": WRITE,
    }

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.all_objects.none()
        return webhook_endpoint_list(access=self.request.auth)

    @extend_schema(request=WebhookInput, responses={201: WebhookWithSecret, 422: REFUSED},
                   summary="Register an endpoint (the answer holds its signing secret, shown once)")
    def register(self, request: Request) -> Response:
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = webhook_endpoint_register(tenant=request.auth.tenant, actor=request.user,
                                                     **data.validated_data)
        return Response(WebhookWithSecret(endpoint, context={"secret": secret}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookInput(partial=True), responses={200: WebhookOutput, 422: REFUSED},
                   summary="Change an endpoint's URL, events or description")
    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        data = WebhookInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        webhook_endpoint_update(tenant=request.auth.tenant, actor=request.user, endpoint=endpoint,
                                url=values.get("url", UNSET), events=values.get("events", UNSET),
                                description=values.get("description", UNSET))
        return Response(WebhookOutput(endpoint).data)

    @extend_schema(responses={204: None}, summary="Delete an endpoint (and its delivery log)")
    def destroy(self, request: Request, **kwargs: Any) -> Response:
        webhook_endpoint_delete(tenant=request.auth.tenant, actor=request.user, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookWithSecret},
                   summary="Rotate the signing secret (the previous one still signs for 24 hours)")
    def rotate_secret(self, request: Request, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        secret = webhook_secret_rotate(tenant=request.auth.tenant, actor=request.user, endpoint=endpoint)
        return Response(WebhookWithSecret(endpoint, context={"secret": secret}).data)

    @extend_schema(request=None, responses={202: WebhookDeliveryOutput, 409: DISABLED},
                   summary="Send a `webhook.test` event to the endpoint")
    def test(self, request: Request, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        delivery = webhook_test_send(endpoint=endpoint)
        webhook_endpoints_deliver_queue([endpoint.pk])
        delivery.refresh_from_db()
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=EnableInput, responses={200: EnableOutput},
                   summary="Enable the endpoint again, optionally replaying what it missed")
    def enable(self, request: Request, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        data = EnableInput(data=request.data)
        data.is_valid(raise_exception=True)
        replayed = webhook_endpoint_enable(tenant=request.auth.tenant, actor=request.user, endpoint=endpoint,
                                           replay_missed=data.validated_data["replay_missed"])
        webhook_endpoints_deliver_queue([endpoint.pk])
        endpoint.refresh_from_db()
        return Response({"webhook": WebhookOutput(endpoint).data, "replayed": replayed})

    @extend_schema(request=None, responses={200: WebhookOutput},
                   summary="Disable the endpoint (events are kept as skipped, to replay when enabled)")
    def disable(self, request: Request, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        webhook_endpoint_disable(tenant=request.auth.tenant, actor=request.user, endpoint=endpoint,
                                 reason="disabled by an administrator")
        return Response(WebhookOutput(endpoint).data)


@extend_schema_view(list=extend_schema(summary="An endpoint's delivery log, newest first"))
class WebhookDeliveryViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = WebhookDeliveryOutput
    ordering = ("-created_at", "-id")
    required_permissions = {"list": READ, "replay": WRITE}

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.all_objects.none()
        return webhook_delivery_list(access=self.request.auth, endpoint_id=self.kwargs.get("webhook_id"))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not webhook_endpoint_list(access=request.auth).filter(public_id=kwargs.get("webhook_id")).exists():
            raise NotFound("No such webhook endpoint in your account.")
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={202: WebhookDeliveryOutput, 409: DISABLED},
                   summary="Send a delivery again (same webhook-id)")
    def replay(self, request: Request, **kwargs: Any) -> Response:
        delivery = self.get_object()
        webhook_delivery_replay(delivery=delivery)
        webhook_endpoints_deliver_queue([delivery.endpoint_id])
        delivery.refresh_from_db()
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookEventTypesView(ApiView):
    required_permissions = {"get": READ}

    @extend_schema(responses={200: EventTypeOutput(many=True)}, summary="The events an endpoint may subscribe to")
    def get(self, request: Request) -> Response:
        return Response([{"name": name, "description": text} for name, text in EVENT_NAMES.items()])
