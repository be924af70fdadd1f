"""Settings → Teams, Labels and Canned responses: how a tenant organises its inbox. Managers
and admins change them; agents (who use labels and canned responses) see those two lists
without the controls, and anything they send is refused. Another tenant's row is a 404."""

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

from accounts.models import User
from accounts.sessions import InboxRequest, inbox_member_required
from channels_app.models import Channel
from config.errors import ApplicationError
from config.forms import form_errors_place
from conversations.models import CannedResponse, Label, Team
from conversations.selectors import canned_response_list, label_list, team_list
from conversations.services import (
    canned_response_create,
    canned_response_delete,
    canned_response_update,
    label_create,
    label_delete,
    label_update,
    team_create,
    team_delete,
    team_update,
)
from conversations.services.organisation import (
    CANNED_CONTENT_MAX,
    DEFAULT_LABEL_COLOUR,
    LABEL_NAME_MAX,
    SHORT_CODE_MAX,
    TEAM_NAME_MAX,
)

PAGE_SIZE = 50
READ = "conversations:read"


def _refused(request: InboxRequest, message: str) -> HttpResponse:
    return render(request, "settings/refused.html", {"access": request.access, "message": message}, status=403)


def _may(request: InboxRequest, permission: str, message: str) -> HttpResponse | None:
    return None if request.access.has(permission) else _refused(request, message)


def _form_errors(form: forms.Form, failure: ApplicationError) -> None:
    """A service's refusal shown on the form: on its field, or above the form."""
    form_errors_place(form, failure, fields={"member_ids": "members", "channel_ids": "channels"})


# --- Teams ------------------------------------------------------------------------------

TEAMS_REFUSED = gettext_lazy("Only administrators and managers manage teams.")


class TeamForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=TEAM_NAME_MAX)
    members = forms.ModelMultipleChoiceField(label=gettext_lazy("Members"), queryset=User.objects.none(),
                                             required=False, widget=forms.CheckboxSelectMultiple)
    channels = forms.ModelMultipleChoiceField(label=gettext_lazy("Channels this team works"),
                                              queryset=Channel.all_objects.none(), required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, tenant_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = self.fields["members"]
        channels = self.fields["channels"]
        assert isinstance(members, forms.ModelMultipleChoiceField)
        assert isinstance(channels, forms.ModelMultipleChoiceField)
        members.queryset = User.objects.filter(memberships__tenant_id=tenant_id, memberships__is_active=True,
                                               is_active=True).order_by("full_name", "email")
        members.label_from_instance = lambda user: user.get_full_name()  # type: ignore[method-assign]
        members.to_field_name = "public_id"
        channels.queryset = Channel.objects.filter(archived_at__isnull=True).order_by("name")
        channels.label_from_instance = (  # type: ignore[method-assign]
            lambda channel: f"{channel.name} · {channel.kind_info.label}")
        channels.to_field_name = "public_id"


@require_http_methods(["GET", "POST"])
@inbox_member_required
def team_settings(request: InboxRequest) -> HttpResponse:
    if (denied := _may(request, "teams:write", str(TEAMS_REFUSED))) is not None:
        return denied
    form = TeamForm(request.POST or None, tenant_id=request.access.tenant_id)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(tenant=request.access.tenant, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Team “%(name)s” created.") % {"name": team.name})
            return redirect("settings-team", team_id=team.public_id)
        except ApplicationError as failure:
            _form_errors(form, failure)
    return render(request, "settings/teams.html", {
        "access": request.access, "teams": team_list(access=request.access), "form": form,
    }, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def team_detail(request: InboxRequest, team_id: uuid.UUID) -> HttpResponse:
    if (denied := _may(request, "teams:write", str(TEAMS_REFUSED))) is not None:
        return denied
    team = get_object_or_404(team_list(access=request.access), public_id=team_id)
    initial = {"name": team.name, "members": list(team.members.all()), "channels": list(team.channels.all())}
    form = TeamForm(request.POST or None, initial=initial, tenant_id=request.access.tenant_id)
    if request.method == "POST" and form.is_valid():
        try:
            team_update(team=team, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Team “%(name)s” saved.") % {"name": team.name})
            return redirect("settings-team", team_id=team.public_id)
        except ApplicationError as failure:
            _form_errors(form, failure)
    return render(request, "settings/team.html", {"access": request.access, "team": team, "form": form},
                  status=400 if form.errors else 200)


@require_POST
@inbox_member_required
def team_remove(request: InboxRequest, team_id: uuid.UUID) -> HttpResponse:
    if (denied := _may(request, "teams:write", str(TEAMS_REFUSED))) is not None:
        return denied
    team = get_object_or_404(Team.objects.all(), public_id=team_id)
    name = team.name
    team_delete(team=team, actor=request.user)
    messages.success(request, _("Team “%(name)s” deleted. Its conversations stay, with no team.") % {"name": name})
    return redirect("settings-teams")


# --- Labels -----------------------------------------------------------------------------

LABELS_REFUSED = gettext_lazy("Only administrators and managers change labels.")


class LabelForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=LABEL_NAME_MAX)
    color = forms.CharField(label=gettext_lazy("Colour"), max_length=7, initial=DEFAULT_LABEL_COLOUR,
                            widget=forms.TextInput(attrs={"type": "color"}))


@require_http_methods(["GET", "POST"])
@inbox_member_required
def label_settings(request: InboxRequest) -> HttpResponse:
    if (denied := _may(request, READ, str(LABELS_REFUSED))) is not None:
        return denied
    form = LabelForm(request.POST or None)
    if request.method == "POST":
        if (denied := _may(request, "labels:write", str(LABELS_REFUSED))) is not None:
            return denied
        if form.is_valid():
            try:
                label = label_create(tenant=request.access.tenant, actor=request.user, **form.cleaned_data)
                messages.success(request, _("Label “%(name)s” created.") % {"name": label.name})
                return redirect("settings-labels")
            except ApplicationError as failure:
                _form_errors(form, failure)
    return _labels_page(request, form=form)


def _labels_page(request: InboxRequest, *, form: LabelForm, editing: Label | None = None,
                 edit_form: LabelForm | None = None) -> HttpResponse:
    failed = bool(form.errors or (edit_form is not None and edit_form.errors))
    page = Paginator(label_list(access=request.access), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "settings/labels.html", {
        "access": request.access, "page": page, "form": form,
        "may_change": request.access.has("labels:write"), "editing": editing, "edit_form": edit_form,
    }, status=400 if failed else 200)


@require_POST
@inbox_member_required
def label_change(request: InboxRequest, label_id: uuid.UUID) -> HttpResponse:
    if (denied := _may(request, "labels:write", str(LABELS_REFUSED))) is not None:
        return denied
    label = get_object_or_404(Label.objects.all(), public_id=label_id)
    form = LabelForm(request.POST, prefix=str(label.public_id))
    if form.is_valid():
        try:
            label_update(label=label, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Label “%(name)s” saved.") % {"name": label.name})
            return redirect("settings-labels")
        except ApplicationError as failure:
            _form_errors(form, failure)
    return _labels_page(request, form=LabelForm(), editing=label, edit_form=form)


@require_POST
@inbox_member_required
def label_remove(request: InboxRequest, label_id: uuid.UUID) -> HttpResponse:
    if (denied := _may(request, "labels:write", str(LABELS_REFUSED))) is not None:
        return denied
    label = get_object_or_404(Label.objects.all(), public_id=label_id)
    name = label.name
    label_delete(label=label, actor=request.user)
    messages.success(request, _("Label “%(name)s” deleted and taken off its conversations.") % {"name": name})
    return redirect("settings-labels")


# --- Canned responses ---------------------------------------------------------------------

CANNED_REFUSED = gettext_lazy("Only administrators and managers change canned responses.")


class CannedResponseForm(forms.Form):
    short_code = forms.CharField(
        label=gettext_lazy("Short code"), max_length=SHORT_CODE_MAX + 1,
        help_text=gettext_lazy("Type / and this code in the reply box to insert the text. Lowercase letters, "
                               "digits, - and _."))
    content = forms.CharField(label=gettext_lazy("Text"), max_length=CANNED_CONTENT_MAX,
                              widget=forms.Textarea(attrs={"rows": 6}))


@require_http_methods(["GET"])
@inbox_member_required
def canned_response_settings(request: InboxRequest) -> HttpResponse:
    if (denied := _may(request, READ, str(CANNED_REFUSED))) is not None:
        return denied
    search = request.GET.get("q", "")[:200]
    page = Paginator(canned_response_list(access=request.access, search=search), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "settings/canned_responses.html", {
        "access": request.access, "page": page, "search": search,
        "may_change": request.access.has("canned:write"),
    })


@require_http_methods(["GET", "POST"])
@inbox_member_required
def canned_response_add(request: InboxRequest) -> HttpResponse:
    if (denied := _may(request, "canned:write", str(CANNED_REFUSED))) is not None:
        return denied
    form = CannedResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            response = canned_response_create(tenant=request.access.tenant, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Canned response /%(code)s created.") % {"code": response.short_code})
            return redirect("settings-canned-responses")
        except ApplicationError as failure:
            _form_errors(form, failure)
    return render(request, "settings/canned_response_form.html", {"access": request.access, "form": form},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@inbox_member_required
def canned_response_detail(request: InboxRequest, response_id: uuid.UUID) -> HttpResponse:
    if (denied := _may(request, "canned:write", str(CANNED_REFUSED))) is not None:
        return denied
    response = get_object_or_404(CannedResponse.objects.all(), public_id=response_id)
    form = CannedResponseForm(request.POST or None,
                              initial={"short_code": response.short_code, "content": response.content})
    if request.method == "POST" and form.is_valid():
        try:
            canned_response_update(response=response, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Canned response /%(code)s saved.") % {"code": response.short_code})
            return redirect("settings-canned-responses")
        except ApplicationError as failure:
            _form_errors(form, failure)
    return render(request, "settings/canned_response_form.html",
                  {"access": request.access, "form": form, "response": response},
                  status=400 if form.errors else 200)


@require_POST
@inbox_member_required
def canned_response_remove(request: InboxRequest, response_id: uuid.UUID) -> HttpResponse:
    if (denied := _may(request, "canned:write", str(CANNED_REFUSED))) is not None:
        return denied
    response = get_object_or_404(CannedResponse.objects.all(), public_id=response_id)
    code = response.short_code
    canned_response_delete(response=response, actor=request.user)
    messages.success(request, _("Canned response /%(code)s deleted.") % {"code": code})
    return redirect("settings-canned-responses")
