"""The tenant admins' channel settings: connect WhatsApp, see where Meta must send, watch
the status, sync templates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.sessions import inbox_member_required
from channels_app.models import Channel, MessageTemplate
from channels_app.selectors import channel_list
from channels_app.services import channel_create, channel_update
from config.errors import ApplicationError
from integrations.models import WebhookEvent
from integrations.tasks import channel_templates_sync_task


class WhatsAppCloudForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120, initial="WhatsApp")
    phone_number_id = forms.RegexField(label=gettext_lazy("Phone number ID"), regex=r"^\d{5,30}$", max_length=30)
    waba_id = forms.RegexField(label=gettext_lazy("WhatsApp Business Account ID"), regex=r"^\d{5,30}$", max_length=30)
    access_token = forms.CharField(label=gettext_lazy("Access token"), max_length=4096,
                                   widget=forms.PasswordInput(render_value=False))
    app_secret = forms.CharField(label=gettext_lazy("App secret"), max_length=256,
                                 widget=forms.PasswordInput(render_value=False))
    verify_token = forms.CharField(label=gettext_lazy("Verify token (empty: one is generated)"), max_length=256,
                                   required=False)


def _manager_only(request: HttpRequest) -> HttpResponse | None:
    if not request.access.has("channels:manage"):
        return render(request, "inbox/_error.html", {"message": _("Only administrators and managers manage channels.")},
                      status=403)
    return None


@inbox_member_required
def channel_settings(request: HttpRequest) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    return render(request, "settings/channels.html", {"channels": channel_list(access=request.access),
                                                      "access": request.access})


@require_http_methods(["GET", "POST"])
@inbox_member_required
def channel_add_whatsapp(request: HttpRequest) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    form = WhatsAppCloudForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        credentials = {key: data[key] for key in ("access_token", "app_secret", "verify_token") if data[key]}
        try:
            channel = channel_create(
                tenant=request.access.tenant, actor=request.user, kind=Channel.Kind.WHATSAPP_CLOUD, name=data["name"],
                config={"phone_number_id": data["phone_number_id"], "waba_id": data["waba_id"]},
                credentials=credentials,
            )
            return redirect("settings-channel", channel_id=channel.pk)
        except ApplicationError as failure:
            error = failure.message
    return render(request, "settings/whatsapp_form.html", {"form": form, "error": error, "access": request.access},
                  status=400 if error or form.errors else 200)


@inbox_member_required
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), pk=channel_id)
    context = {
        "channel": channel, "access": request.access,
        "templates": MessageTemplate.objects.filter(channel=channel),
        "failed_webhooks": WebhookEvent.objects.filter(channel=channel, status=WebhookEvent.Status.FAILED)
        .order_by("-received_at")[:10],
        "verify_token": channel.credentials.get("verify_token", "") if channel.kind == Channel.Kind.WHATSAPP_CLOUD
        else "",
        "error": "",
    }
    if request.method == "POST" and request.POST.get("access_token"):
        try:
            channel_update(channel=channel, actor=request.user,
                           credentials={"access_token": request.POST["access_token"][:4096]})
            return redirect("settings-channel", channel_id=channel.pk)
        except ApplicationError as failure:
            context["error"] = failure.message
    template = "settings/_channel_status.html" if request.headers.get("HX-Request") else "settings/channel.html"
    return render(request, template, context, status=400 if context["error"] else 200)


@require_POST
@inbox_member_required
def channel_sync_templates(request: HttpRequest, channel_id: int) -> HttpResponse:
    if (denied := _manager_only(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), pk=channel_id)
    channel_templates_sync_task.delay(channel_id=channel.pk)
    return redirect("settings-channel", channel_id=channel.pk)
