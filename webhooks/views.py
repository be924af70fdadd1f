"""Settings → Webhooks: a tenant admin's endpoints (add, change events, secret shown once,
rotate, disable/enable with replay, send a test event, delete) and each one's delivery log
(status, attempts, latency, the answer's excerpt, replay). Another tenant's row is a 404."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.sessions import InboxRequest, inbox_member_required
from config.errors import ApplicationError
from config.forms import form_errors_place
from webhooks.models import DESCRIPTION_MAX, URL_MAX, WebhookEndpoint
from webhooks.selectors import webhook_delivery_list, webhook_endpoint_list
from webhooks.services import (
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

WRITE = "webhooks:write"
REFUSED = gettext_lazy("Only administrators manage webhooks.")
PAGE_SIZE = 25
SECRET_KEY = "webhook_secret_once"

EVENT_LABELS = {
    "message.received": gettext_lazy("A contact's message arrived"),
    "message.created": gettext_lazy("A message was sent from the inbox or the API"),
    "message.status_changed": gettext_lazy("A sent message was delivered, read or failed"),
    "message.updated": gettext_lazy("A message was edited or deleted"),
    "conversation.created": gettext_lazy("A conversation began"),
    "conversation.updated": gettext_lazy("A conversation's labels, priority or snooze changed"),
    "conversation.status_changed": gettext_lazy("A conversation was resolved, reopened or set pending"),
    "conversation.assigned": gettext_lazy("A conversation was assigned"),
    "contact.created": gettext_lazy("A contact was created"),
    "contact.updated": gettext_lazy("A contact's details changed"),
    "channel.status_changed": gettext_lazy("A channel connected or disconnected"),
}


class EndpointForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("URL"), max_length=URL_MAX, assume_scheme="https",
                         help_text=gettext_lazy("Where events are POSTed: a public https:// address of your system."))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=DESCRIPTION_MAX, required=False)
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), choices=list(EVENT_LABELS.items()),
                                       widget=forms.CheckboxSelectMultiple)


def _refused(request: InboxRequest) -> HttpResponse | None:
    if request.access.has(WRITE):
        return None
    return render(request, "settings/refused.html", {"access": request.access, "message": str(REFUSED)},
                  status=403)


def _form_errors(form: forms.Form, failure: ApplicationError) -> None:
    form_errors_place(form, failure)


def _endpoint(request: InboxRequest, webhook_id: uuid.UUID) -> WebhookEndpoint:
    return get_object_or_404(webhook_endpoint_list(access=request.access), public_id=webhook_id)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def webhook_settings(request: InboxRequest) -> HttpResponse:
    if (denied := _refused(request)) is not None:
        return denied
    form = EndpointForm(request.POST or None, initial={"events": ["message.received"]})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_register(tenant=request.access.tenant, actor=request.user,
                                                         **form.cleaned_data)
            request.session[SECRET_KEY] = {"id": str(endpoint.public_id), "secret": secret}
            messages.success(request, _("Endpoint added. Copy its signing secret now: it is shown only once."))
            return redirect("settings-webhook", webhook_id=endpoint.public_id)
        except ApplicationError as failure:
            _form_errors(form, failure)
    endpoints = webhook_endpoint_list(access=request.access).order_by("-created_at", "-id")
    return render(request, "settings/webhooks.html", {
        "access": request.access, "endpoints": endpoints, "form": form, "event_labels": EVENT_LABELS,
    }, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def webhook_detail(request: InboxRequest, webhook_id: uuid.UUID) -> HttpResponse:
    if (denied := _refused(request)) is not None:
        return denied
    endpoint = _endpoint(request, webhook_id)
    form = EndpointForm(request.POST or None, initial={"url": endpoint.url, "description": endpoint.description,
                                                        "events": endpoint.events})
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoint_update(tenant=request.access.tenant, actor=request.user, endpoint=endpoint,
                                    **form.cleaned_data)
            messages.success(request, _("Endpoint saved."))
            return redirect("settings-webhook", webhook_id=endpoint.public_id)
        except ApplicationError as failure:
            _form_errors(form, failure)
    shown = request.session.get(SECRET_KEY)
    secret = None
    if shown and shown.get("id") == str(endpoint.public_id):
        secret = shown["secret"]
        del request.session[SECRET_KEY]
    deliveries = Paginator(webhook_delivery_list(access=request.access, endpoint_id=endpoint.public_id)
                           .order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"access": request.access, "endpoint": endpoint, "form": form, "secret": secret,
                               "deliveries": deliveries, "event_labels": EVENT_LABELS}
    return render(request, "settings/webhook.html", context, status=400 if form.errors else 200)


def _action(request: InboxRequest, webhook_id: uuid.UUID, act: Any) -> HttpResponse:
    if (denied := _refused(request)) is not None:
        return denied
    endpoint = _endpoint(request, webhook_id)
    try:
        act(endpoint)
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("settings-webhook", webhook_id=endpoint.public_id)


@require_POST
@inbox_member_required
def webhook_rotate(request: InboxRequest, webhook_id: uuid.UUID) -> HttpResponse:
    def rotate(endpoint: WebhookEndpoint) -> None:
        secret = webhook_secret_rotate(tenant=request.access.tenant, actor=request.user, endpoint=endpoint)
        request.session[SECRET_KEY] = {"id": str(endpoint.public_id), "secret": secret}
        messages.success(request, _("New signing secret made. The previous one still signs for 24 hours."))
    return _action(request, webhook_id, rotate)


@require_POST
@inbox_member_required
def webhook_test(request: InboxRequest, webhook_id: uuid.UUID) -> HttpResponse:
    def test(endpoint: WebhookEndpoint) -> None:
        webhook_test_send(endpoint=endpoint)
        webhook_endpoints_deliver_queue([endpoint.pk])
        messages.success(request, _("Test event sent: its result is in the delivery log below."))
    return _action(request, webhook_id, test)


@require_POST
@inbox_member_required
def webhook_disable(request: InboxRequest, webhook_id: uuid.UUID) -> HttpResponse:
    def disable(endpoint: WebhookEndpoint) -> None:
        webhook_endpoint_disable(tenant=request.access.tenant, actor=request.user, endpoint=endpoint,
                                 reason="disabled by an administrator")
        messages.success(request, _("Endpoint disabled. Events are kept, to replay when you enable it."))
    return _action(request, webhook_id, disable)


@require_POST
@inbox_member_required
def webhook_enable(request: InboxRequest, webhook_id: uuid.UUID) -> HttpResponse:
    def enable(endpoint: WebhookEndpoint) -> None:
        replayed = webhook_endpoint_enable(tenant=request.access.tenant, actor=request.user, endpoint=endpoint,
                                           replay_missed=request.POST.get("replay_missed") == "on")
        webhook_endpoints_deliver_queue([endpoint.pk])
        messages.success(request, _("Endpoint enabled; %(count)s missed deliveries are being sent again.")
                         % {"count": replayed})
    return _action(request, webhook_id, enable)


@require_POST
@inbox_member_required
def webhook_remove(request: InboxRequest, webhook_id: uuid.UUID) -> HttpResponse:
    if (denied := _refused(request)) is not None:
        return denied
    endpoint = _endpoint(request, webhook_id)
    webhook_endpoint_delete(tenant=request.access.tenant, actor=request.user, endpoint=endpoint)
    messages.success(request, _("Endpoint deleted."))
    return redirect("settings-webhooks")


@require_POST
@inbox_member_required
def webhook_delivery_resend(request: InboxRequest, delivery_id: uuid.UUID) -> HttpResponse:
    if (denied := _refused(request)) is not None:
        return denied
    delivery = get_object_or_404(webhook_delivery_list(access=request.access), public_id=delivery_id)
    try:
        webhook_delivery_replay(delivery=delivery)
        webhook_endpoints_deliver_queue([delivery.endpoint_id])
        messages.success(request, _("Delivery sent again."))
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("settings-webhook", webhook_id=delivery.endpoint.public_id)
