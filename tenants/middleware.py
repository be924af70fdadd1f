from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenants.scoping import UNSCOPED, _current


class TenantContextMiddleware:
    """Starts every request with no tenant current and clears it afterwards.

    Authentication makes the request's tenant current (accounts.authentication for the
    API, the inbox's login for pages). Django admin is the platform staff's view over all
    tenants, so it runs unscoped for staff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = None
        if request.path.startswith("/admin/") and request.user.is_authenticated and request.user.is_staff:
            scope = UNSCOPED
        token = _current.set(scope)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
