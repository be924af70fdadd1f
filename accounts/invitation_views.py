"""The invitation link's page: the invitee sets a name and a password (or, when the address
already has an account, logs in with it), joins the tenant and lands in its inbox. A link that
is unknown, expired, revoked or used is refused with a page that says which."""

from __future__ import annotations

from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.invitations import InvitationUnusable, invitation_accept, invitation_account, invitation_find
from accounts.login import InvalidCredentials
from accounts.models import User
from accounts.sessions import session_login, session_switch_tenant
from config.errors import ApplicationError

NAME_MAX = 150


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_find(token=token)
    except InvitationUnusable as refusal:
        return render(request, "accounts/invitation_refused.html", {"message": refusal.message, "code": refusal.code},
                      status=410)
    existing = invitation_account(invitation=invitation)
    full_name = request.POST.get("full_name", "").strip()[:NAME_MAX]
    form = SetPasswordForm(User(email=invitation.email, full_name=full_name), request.POST or None)
    error, status = "", 200
    if request.method == "POST":
        try:
            if existing is not None:
                return _join_with_account(request, token=token, invitation_tenant=invitation.tenant.public_id,
                                          email=existing.email)
            if not full_name:
                error, status = _("Tell us your name."), 400
            elif form.is_valid():
                password = form.cleaned_data["new_password1"]
                invitation_accept(token=token, full_name=full_name, password=password)
                session_login(request=request, email=invitation.email, password=password)
                session_switch_tenant(request=request, tenant_id=invitation.tenant.public_id)
                return redirect("/inbox/")
            else:
                status = 400
        except InvitationUnusable as refusal:
            return render(request, "accounts/invitation_refused.html",
                          {"message": refusal.message, "code": refusal.code}, status=410)
        except InvalidCredentials:  # a wrong password, or a locked account: one answer, as the login's
            error, status = _("That password is not right."), 401
        except ApplicationError as failure:
            error, status = failure.message, failure.status_code
    return render(request, "accounts/invitation.html", {
        "invitation": invitation, "tenant": invitation.tenant, "existing": existing is not None, "form": form,
        "full_name": full_name, "error": error,
    }, status=status)


def _join_with_account(request: HttpRequest, *, token: str, invitation_tenant: object, email: str) -> HttpResponse:
    """The address has an account: its password (and, after, its code) proves it is theirs."""
    logged_in = session_login(request=request, email=email, password=request.POST.get("password", "")[:256])
    user = request.user if logged_in else User.objects.get(email=email)
    invitation_accept(token=token, user=user)  # type: ignore[arg-type]
    if not logged_in:  # two-factor login: the code next, then the inbox
        return redirect(f"{reverse('login-code')}?next=/inbox/")
    session_switch_tenant(request=request, tenant_id=invitation_tenant)  # type: ignore[arg-type]
    return redirect("/inbox/")
