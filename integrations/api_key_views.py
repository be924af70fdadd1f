"""Settings → API keys: the tenant's administrators (api_keys:write) list, make and revoke
keys; everyone else is refused. The key is shown once, on the page that answers its making
(never stored, never put in a redirect or a session). The rules are accounts.api_keys'."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.api_keys import ApiKeyCreated, api_key_get, api_key_list, api_key_require_manager, api_key_revoke
from accounts.models import ApiKey
from accounts.sessions import InboxRequest, inbox_member_required
from config.errors import ApplicationError
from integrations.api_keys import api_key_make, api_keys_channel_names
from integrations.members import tenant_channels

EXPIRY_CHOICES = [("", gettext_lazy("Never")), ("30", gettext_lazy("In 30 days")), ("90", gettext_lazy("In 90 days")),
                  ("365", gettext_lazy("In a year"))]


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. CRM sync")}))
    scope = forms.ChoiceField(label=gettext_lazy("Access"), choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ)
    expires_in_days = forms.ChoiceField(label=gettext_lazy("Expires"), choices=EXPIRY_CHOICES, required=False)
    channels = forms.MultipleChoiceField(label=gettext_lazy("Only these channels (none ticked: every channel)"),
                                         required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, channels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["channels"]).choices = channels


def _refusal(request: InboxRequest) -> HttpResponse | None:
    try:
        api_key_require_manager(access=request.access)
    except ApplicationError as refusal:
        return render(request, "settings/refused.html", {"access": request.access, "message": refusal.message},
                      status=403)
    return None


def _form(request: InboxRequest, data: Any = None) -> ApiKeyForm:
    channels = tenant_channels(tenant=request.access.tenant)
    return ApiKeyForm(data, channels=[(str(channel.public_id), channel.name) for channel in channels])


def _page(request: InboxRequest, *, form: ApiKeyForm, created: ApiKeyCreated | None = None,
          status: int = 200) -> HttpResponse:
    tenant = request.access.tenant
    api_keys = api_key_list(tenant=tenant)
    names = api_keys_channel_names(tenant=tenant, api_keys=api_keys)
    rows = [{"api_key": api_key, "channels": names.get(api_key.pk, [])} for api_key in api_keys]
    return render(request, "settings/api_keys.html", {
        "access": request.access, "form": form, "rows": rows, "created": created,
    }, status=status)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def api_key_list_view(request: InboxRequest) -> HttpResponse:
    if (denied := _refusal(request)) is not None:
        return denied
    if request.method != "POST":
        return _page(request, form=_form(request))
    form = _form(request, request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        created = api_key_make(tenant=request.access.tenant, actor=request.access.user, name=data["name"],
                               scope=data["scope"], channel_ids=data["channels"],
                               expires_in_days=int(data["expires_in_days"]) if data["expires_in_days"] else None)
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
        return _page(request, form=form, status=400)
    # Rendered, not redirected: the key exists only in this answer.
    return _page(request, form=_form(request), created=created)


@require_POST
@inbox_member_required
def api_key_revoke_view(request: InboxRequest, api_key_id: uuid.UUID) -> HttpResponse:
    if (denied := _refusal(request)) is not None:
        return denied
    api_key = api_key_get(tenant=request.access.tenant, public_id=api_key_id)
    if api_key is None:
        raise Http404
    try:
        api_key_revoke(api_key=api_key, actor=request.access.user)
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("The key %(name)s was revoked: it no longer works.") % {"name": api_key.name})
    return redirect("settings-api-keys")
