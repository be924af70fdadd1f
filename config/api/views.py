"""Base classes of every /api/v1/ view: they rate-limit every request, anonymous ones included,
and put the rate-limit headers on every response, error responses included (a request
refused before the throttle ran is counted against its client address)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, generics, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.throttling import rate_limit_consume


class RateLimitHeadersMixin:
    rate_limit_scope = "default"

    # DRF checks permissions before throttles: an anonymous caller was refused (401) before
    # anything counted it. The throttle runs first here, once per request, a bad token's
    # caller counted as anonymous too.
    def perform_authentication(self, request: Any) -> None:
        try:
            super().perform_authentication(request)  # type: ignore[misc]
        except exceptions.APIException:
            self.check_throttles(request)
            raise

    def check_permissions(self, request: Any) -> None:
        self.check_throttles(request)
        super().check_permissions(request)  # type: ignore[misc]

    def check_throttles(self, request: Any) -> None:
        if getattr(request._request, "rate_limit_state", None) is None:
            super().check_throttles(request)  # type: ignore[misc]

    def finalize_response(self, request: Any, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        state = getattr(request._request, "rate_limit_state", None)
        if state is None and self.throttle_classes:  # type: ignore[attr-defined]
            state = rate_limit_consume(request, self.rate_limit_scope, anonymous=True)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response


class ApiView(RateLimitHeadersMixin, APIView):
    pass


class PublicIdLookupMixin:
    """A resource's URL names it by its public id: /<resource>/<uuid:id>, looked up in the
    view's queryset (tenant-scoped: another tenant's id is a 404, as an unknown one is)."""

    lookup_field: str = "public_id"
    lookup_url_kwarg: str | None = "id"
    lookup_value_converter: str = "uuid"


class ApiGenericView(PublicIdLookupMixin, RateLimitHeadersMixin, generics.GenericAPIView):
    pass


class ApiViewSet(PublicIdLookupMixin, RateLimitHeadersMixin, viewsets.GenericViewSet):
    pass
