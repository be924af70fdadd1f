"""/notifications/: the member's notices in the tenant they work in, newest first (paginated),
each opening where it points (and marked read), all marked read at once. Nobody sees another
member's notices: one that is not theirs is a 404."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.notices import notice_list, notices_mark_read
from accounts.sessions import InboxRequest, inbox_member_required

PAGE_SIZE = 25


@require_GET
@inbox_member_required
def notices_view(request: InboxRequest) -> HttpResponse:
    page = Paginator(notice_list(access=request.access), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/notices.html", {"access": request.access, "notices": page})


@require_POST
@inbox_member_required
def notice_open_view(request: InboxRequest, notice_id: uuid.UUID) -> HttpResponse:
    notice = notice_list(access=request.access).filter(public_id=notice_id).first()
    if notice is None:
        raise Http404
    notices_mark_read(access=request.access, ids=[notice.public_id])
    if notice.url and url_has_allowed_host_and_scheme(notice.url, allowed_hosts=None) and notice.url.startswith("/"):
        return redirect(notice.url)
    return redirect("notices")


@require_POST
@inbox_member_required
def notices_read_view(request: InboxRequest) -> HttpResponse:
    if notices_mark_read(access=request.access):
        messages.success(request, _("All notifications marked read."))
    return redirect("notices")
