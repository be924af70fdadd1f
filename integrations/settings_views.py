"""The tenant admins' channel settings: connect a channel of any registered kind (its
provider's form), see what to paste into the provider's console, watch the status, replace a
secret, sync templates. Every provider-specific word comes from its adapter."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.sessions import InboxRequest, inbox_member_required
from channels_app.models import Channel, MessageTemplate
from channels_app.selectors import channel_active_count, channel_list
from channels_app.services import channel_create, channel_update
from config.errors import ApplicationError, PlanLimitExceeded
from contacts.phones import InvalidPhone, phone_normalize
from integrations.base import ProviderError, ProviderTemporaryError
from integrations.inbound.process import webhook_events_reopen
from integrations.inbound.tasks import webhook_events_requeue
from integrations.maintenance import channel_templates_sync
from integrations.members import channel_access_rows
from integrations.models import WebhookEvent
from integrations.pairing import (
    channel_disconnect,
    channel_pair,
    channel_restart,
    channel_sandbox_scan,
    pairing_qr_png,
)
from integrations.registry import adapter_class_for, adapter_classes, adapter_for
from tenants.services import tenant_check_limit

# Failed webhooks of a channel that one "process again" takes up (the newest).
PROCESS_AGAIN_AT_MOST = 1000


def provider_message(error: ApplicationError) -> str:
    """The provider's own words about a failure (technical, in English), shown behind "Details"."""
    return str(error.details.get("provider_message") or "")


def toast_error(request: InboxRequest, message: str, *, detail: str = "") -> None:
    """An error toast in the member's language; `detail`, the provider's words, behind a toggle
    (carried in the message's extra tags, which templates/ui/_toasts.html shows as such)."""
    messages.error(request, message, extra_tags=detail)


def _manager_only(request: InboxRequest) -> HttpResponse | None:
    if not request.access.has("channels:manage"):
        return render(request, "inbox/_error.html", {"message": _("Only administrators and managers manage channels.")},
                      status=403)
    return None


@inbox_member_required
def channel_settings(request: InboxRequest) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    connectable = [adapter for adapter in adapter_classes().values() if adapter.form_class is not None]
    return render(request, "settings/channels.html", {"channels": channel_list(access=request.access),
                                                      "connectable": connectable, "access": request.access,
                                                      **_channel_plan(request)})


def _channel_plan(request: InboxRequest) -> dict[str, object]:
    """How many of the plan's channels are used, and, when none is left, the plan's refusal (the
    words a new channel would be refused with), shown before anyone fills a form in vain."""
    tenant = request.access.tenant
    used = channel_active_count(tenant_id=tenant.pk)
    try:
        tenant_check_limit(tenant=tenant, resource="channels", current=used)
        refusal = ""
    except PlanLimitExceeded as limit:
        refusal = limit.message
    return {"channels_used": used, "channels_limit": tenant.max_channels, "channel_limit_reached": refusal}


@require_http_methods(["GET", "POST"])
@inbox_member_required
def channel_add(request: InboxRequest, kind: str) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    adapter = adapter_class_for(kind)
    if adapter is None or adapter.form_class is None:
        raise Http404
    form = adapter.form_class(request.POST or None)
    error, error_detail = "", ""
    if request.method == "POST" and form.is_valid():
        settings = form.channel_settings()
        try:
            channel = channel_create(tenant=request.access.tenant, actor=request.user, kind=kind, name=settings.name,
                                     config=settings.config, credentials=settings.credentials)
            return redirect("settings-channel", channel_id=channel.public_id)
        except ApplicationError as failure:
            error, error_detail = failure.message, provider_message(failure)
    return render(request, "settings/channel_form.html",
                  {"form": form, "adapter": adapter, "error": error, "error_detail": error_detail,
                   "access": request.access, **({} if error else _channel_plan(request))},
                  status=400 if error or form.errors else 200)


@inbox_member_required
def channel_detail(request: InboxRequest, channel_id: uuid.UUID) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), public_id=channel_id)
    adapter = adapter_for(channel)
    credentials_form_class = adapter.credentials_form_class if adapter is not None else None
    credentials_form = credentials_form_class(request.POST or None) if credentials_form_class else None
    error, error_detail = "", ""
    if request.method == "POST" and credentials_form is not None:
        if credentials_form.is_valid():
            try:
                channel_update(channel=channel, actor=request.user, credentials={
                    key: value for key, value in credentials_form.cleaned_data.items() if value})
                return redirect("settings-channel", channel_id=channel.public_id)
            except ApplicationError as failure:
                error, error_detail = failure.message, provider_message(failure)
        else:
            error = _("Check the fields below.")
    context = {
        "channel": channel, "access": request.access, "adapter": adapter, "credentials_form": credentials_form,
        "setup_steps": adapter.setup_steps() if adapter is not None else [],
        "templates": MessageTemplate.objects.filter(channel=channel) if channel.kind_info.templates else None,
        "failed_webhooks": WebhookEvent.objects.filter(channel=channel, status=WebhookEvent.Status.FAILED)
        .order_by("-received_at")[:10],
        "error": error, "error_detail": error_detail,
        "access_rows": channel_access_rows(channel=channel) if request.access.has("users:read") else None,
    }
    if adapter is not None and adapter.pairs_by_qr_code:
        context.update(_pairing_context(request, channel), pairing=True)
    template = "settings/_channel_status.html" if request.headers.get("HX-Request") else "settings/channel.html"
    return render(request, template, context, status=400 if error else 200)


@require_POST
@inbox_member_required
def channel_sync_templates(request: InboxRequest, channel_id: uuid.UUID) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), public_id=channel_id)
    if not channel.kind_info.templates:
        messages.info(request, _("This kind of channel has no message templates to sync."))
        return redirect("settings-channel", channel_id=channel.public_id)
    # Now, not queued: the admin waits for one provider call and learns at once how it went.
    try:
        count = channel_templates_sync(channel=channel)
    except ProviderTemporaryError as error:
        toast_error(request, _("The templates were not synced: the provider could not be reached. Try again in a "
                               "moment."), detail=error.message)
    except ProviderError as error:
        toast_error(request, _("The templates were not synced: the provider refused."), detail=error.message)
    else:
        messages.success(request, ngettext("Templates synced: %(count)d template.", "Templates synced: %(count)d "
                                           "templates.", count) % {"count": count})
    return redirect("settings-channel", channel_id=channel.public_id)


@require_POST
@inbox_member_required
def channel_webhooks_process_again(request: InboxRequest, channel_id: uuid.UUID) -> HttpResponse:
    """The channel's failed webhooks, processed again (once what made them fail is fixed)."""
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), public_id=channel_id)
    failed = WebhookEvent.objects.filter(channel=channel, status=WebhookEvent.Status.FAILED).order_by("-pk")
    reopened = webhook_events_reopen(event_ids=list(failed.values_list("pk", flat=True)[:PROCESS_AGAIN_AT_MOST]))
    webhook_events_requeue(reopened)
    messages.success(request, ngettext("%(count)d webhook is being processed again.",
                                       "%(count)d webhooks are being processed again.", len(reopened))
                     % {"count": len(reopened)})
    return redirect("settings-channel", channel_id=channel.public_id)


def _pairing_context(request: InboxRequest, channel: Channel) -> dict[str, object]:
    pairing = channel.config.get("pairing") or {}
    return {"channel": channel, "access": request.access, "qr": pairing_qr_png(channel),
            "pairing_code": pairing.get("pairing_code", ""), "phone": channel.config.get("phone", "")}


@inbox_member_required
def channel_pairing(request: InboxRequest, channel_id: uuid.UUID) -> HttpResponse:
    """The phone panel of a channel paired by QR code (refreshed live and every few seconds)."""
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), public_id=channel_id)
    return render(request, "settings/_pairing.html", _pairing_context(request, channel))


@require_POST
@inbox_member_required
def channel_pairing_action(request: InboxRequest, channel_id: uuid.UUID, action: str) -> HttpResponse:
    """Pair (a QR code, or a code for a phone number), disconnect or restart, from the page."""
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), public_id=channel_id)
    try:
        if action == "pair":
            phone = phone_normalize(request.POST.get("phone", ""), default_region=request.access.tenant.default_country)
            channel = channel_pair(channel=channel, phone=phone.lstrip("+"), actor=request.user)
            if channel.status != Channel.Status.CONNECTED:  # (a provider may offer no code for a number)
                coded = bool((channel.config.get("pairing") or {}).get("pairing_code"))
                messages.success(request, _("Type the code on the phone.") if phone and coded
                                 else _("Scan the QR code with the phone."))
        elif action == "disconnect":
            channel_disconnect(channel=channel, actor=request.user)
            messages.success(request, _("The phone was disconnected. Pair it again whenever you like."))
        elif action == "scan" and channel.config.get("sandbox"):
            channel_sandbox_scan(channel=channel)
            messages.success(request, _("The sandbox's phone scanned the QR code: the channel connects in a moment."))
        elif action == "restart":
            channel_restart(channel=channel)
            messages.success(request, _("The connection was restarted."))
        else:
            raise Http404
    except InvalidPhone:
        messages.error(request, _("Type the phone's number with its area code, e.g. (11) 98765-4321."))
    except ApplicationError as failure:
        toast_error(request, failure.message, detail=provider_message(failure))
    return redirect("settings-channel", channel_id=channel.public_id)
