"""Settings → Members: the tenant's members and invitations. Administrators (users:write)
invite, change roles, deactivate and choose channels; managers (users:read) only read; agents
and viewers are refused. The rules are the services' (accounts.services, accounts.invitations)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.invitations import invitation_resend, invitation_revoke
from accounts.models import Membership, Role
from accounts.selectors import invitation_list, member_get, member_list
from accounts.services import TENANT_ROLES, membership_remove, membership_update
from accounts.sessions import InboxRequest, inbox_member_required
from channels_app.selectors import channel_list
from config.errors import ApplicationError
from integrations.members import (
    ROLES_CHOOSING_CHANNELS,
    channel_workers_replace,
    member_channels_replace,
    member_invite,
    members_channel_ids,
    members_teams,
    tenant_channels,
    tenant_teams,
)

PAGE_SIZE = 50
STATUS_CHOICES = [("", gettext_lazy("Any status")), ("active", pgettext_lazy("member status", "Active")),
                  ("deactivated", pgettext_lazy("member status", "Deactivated"))]


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, str(role.label)) for role in TENANT_ROLES]


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Name or email")}))
    role = forms.ChoiceField(label=gettext_lazy("Role"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=STATUS_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [("", _("Any role")), *_role_choices()]


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("Role"))
    channels = forms.MultipleChoiceField(label=gettext_lazy("Channels (agents and viewers)"), required=False,
                                         widget=forms.CheckboxSelectMultiple)
    teams = forms.MultipleChoiceField(label=gettext_lazy("Teams"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, channels: list[tuple[str, str]], teams: list[tuple[str, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = _role_choices()
        self.fields["role"].initial = Role.AGENT
        cast(forms.ChoiceField, self.fields["channels"]).choices = channels
        cast(forms.ChoiceField, self.fields["teams"]).choices = teams


def _refusal(request: InboxRequest) -> HttpResponse | None:
    if not request.access.has("users:read"):
        return render(request, "settings/refused.html", {
            "access": request.access, "message": _("Only the account's administrators and managers see its members."),
        }, status=403)
    return None


def _write_refusal(request: InboxRequest) -> HttpResponse | None:
    if (denied := _refusal(request)) is not None:
        return denied
    if not request.access.has("users:write"):
        return render(request, "settings/refused.html", {
            "access": request.access, "message": _("Only the account's administrators change its members."),
        }, status=403)
    return None


def _invite_form(request: InboxRequest, data: Any = None) -> InviteForm:
    tenant = request.access.tenant
    return InviteForm(data, channels=[(str(c.public_id), c.name) for c in tenant_channels(tenant=tenant)],
                      teams=[(str(t.public_id), t.name) for t in tenant_teams(tenant=tenant)])


@require_GET
@inbox_member_required
def member_list_view(request: InboxRequest) -> HttpResponse:
    if (denied := _refusal(request)) is not None:
        return denied
    tenant = request.access.tenant
    form = MemberFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    members = member_list(tenant=tenant, search=filters.get("q", ""), role=filters.get("role", ""),
                          status=filters.get("status", ""))
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    teams = members_teams(tenant=tenant, user_ids=[membership.user_id for membership in page])
    rows = [{"membership": membership, "teams": teams.get(membership.user_id, [])} for membership in page]
    query = request.GET.copy()
    query.pop("page", None)
    can_write = request.access.has("users:write")
    return render(request, "settings/members.html", {
        "access": request.access, "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "filtered": any(filters.values()), "can_write": can_write,
        "invite_form": _invite_form(request) if can_write else None,
        "invitations": invitation_list(tenant=tenant, open_only=True)[:100],
    })


@require_POST
@inbox_member_required
def member_invite_view(request: InboxRequest) -> HttpResponse:
    if (denied := _write_refusal(request)) is not None:
        return denied
    form = _invite_form(request, request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the invitation: %(errors)s") % {"errors": " ".join(
            str(error) for errors in form.errors.values() for error in errors)})
        return redirect("settings-members")
    try:
        invitation = member_invite(tenant=request.access.tenant, actor=request.user, email=form.cleaned_data["email"],
                                   role=form.cleaned_data["role"], channel_ids=form.cleaned_data["channels"],
                                   team_ids=form.cleaned_data["teams"])
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("settings-members")


def _membership(request: InboxRequest, user_id: uuid.UUID) -> Membership:
    membership = member_get(tenant=request.access.tenant, user_id=user_id)
    if membership is None:
        raise Http404
    return membership


@require_GET
@inbox_member_required
def member_detail_view(request: InboxRequest, user_id: uuid.UUID) -> HttpResponse:
    if (denied := _refusal(request)) is not None:
        return denied
    tenant = request.access.tenant
    membership = _membership(request, user_id)
    granted = members_channel_ids(tenant=tenant, user_ids=[membership.user_id]).get(membership.user_id, set())
    channels = [{"channel": channel, "granted": channel.pk in granted} for channel in tenant_channels(tenant=tenant)]
    return render(request, "settings/member.html", {
        "access": request.access, "membership": membership, "member": membership.user,
        "teams": members_teams(tenant=tenant, user_ids=[membership.user_id]).get(membership.user_id, []),
        "channels": channels, "chooses_channels": membership.role in ROLES_CHOOSING_CHANNELS,
        "roles": _role_choices(), "can_write": request.access.has("users:write"),
        "is_self": membership.user_id == request.user.pk,
    })


def _member_change(request: InboxRequest, user_id: uuid.UUID, change: Any, done: str) -> HttpResponse:
    if (denied := _write_refusal(request)) is not None:
        return denied
    membership = _membership(request, user_id)
    try:
        change(membership)
        messages.success(request, done % {"name": membership.user.get_full_name()})
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("settings-member", user_id=membership.user.public_id)


@require_POST
@inbox_member_required
def member_role_view(request: InboxRequest, user_id: uuid.UUID) -> HttpResponse:
    role = request.POST.get("role", "")[:32]
    return _member_change(request, user_id, lambda membership: membership_update(
        membership=membership, actor=request.user, role=role), _("Role of %(name)s changed."))


@require_POST
@inbox_member_required
def member_deactivate_view(request: InboxRequest, user_id: uuid.UUID) -> HttpResponse:
    return _member_change(request, user_id, lambda membership: membership_update(
        membership=membership, actor=request.user, is_active=False),
        _("%(name)s was deactivated: their sessions ended and their open conversations went back to the queue."))


@require_POST
@inbox_member_required
def member_reactivate_view(request: InboxRequest, user_id: uuid.UUID) -> HttpResponse:
    return _member_change(request, user_id, lambda membership: membership_update(
        membership=membership, actor=request.user, is_active=True), _("%(name)s was reactivated."))


@require_POST
@inbox_member_required
def member_remove_view(request: InboxRequest, user_id: uuid.UUID) -> HttpResponse:
    if (denied := _write_refusal(request)) is not None:
        return denied
    membership = _membership(request, user_id)
    name = membership.user.get_full_name()
    try:
        membership_remove(membership=membership, actor=request.user)
    except ApplicationError as failure:
        messages.error(request, failure.message)
        return redirect("settings-member", user_id=user_id)
    messages.success(request, _("%(name)s was removed from the account.") % {"name": name})
    return redirect("settings-members")


@require_POST
@inbox_member_required
def member_channels_view(request: InboxRequest, user_id: uuid.UUID) -> HttpResponse:
    chosen = [value for value in request.POST.getlist("channels")[:1000] if _is_uuid(value)]
    return _member_change(request, user_id, lambda membership: member_channels_replace(
        membership=membership, channel_ids=chosen, actor=request.user), _("Channels of %(name)s saved."))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@require_POST
@inbox_member_required
def invitation_action_view(request: InboxRequest, invitation_id: uuid.UUID, action: str) -> HttpResponse:
    if (denied := _write_refusal(request)) is not None:
        return denied
    invitation = get_object_or_404(invitation_list(tenant=request.access.tenant), public_id=invitation_id)
    try:
        if action == "resend":
            invitation_resend(invitation=invitation, actor=request.user)
            messages.success(request, _("Invitation sent again to %(email)s.") % {"email": invitation.email})
        elif action == "revoke":
            invitation_revoke(invitation=invitation, actor=request.user)
            messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
        else:
            raise Http404
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("settings-members")


@require_POST
@inbox_member_required
def channel_members_view(request: InboxRequest, channel_id: uuid.UUID) -> HttpResponse:
    """The channel page's "Who can see this channel": the agents and viewers who work it."""
    if (denied := _write_refusal(request)) is not None:
        return denied
    channel = get_object_or_404(channel_list(access=request.access), public_id=channel_id)
    chosen = [value for value in request.POST.getlist("members")[:1000] if _is_uuid(value)]
    try:
        channel_workers_replace(channel=channel, user_ids=chosen, actor=request.user)
        messages.success(request, _("Who can see %(channel)s saved.") % {"channel": channel.name})
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("settings-channel", channel_id=channel.public_id)
