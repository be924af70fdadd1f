"""Base classes of every /api/v1/ view: they put the rate-limit headers on every response,
error responses included (a request refused before the throttle ran is counted against
its client IP)."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.throttling import rate_limit_consume


class RateLimitHeadersMixin:
    rate_limit_scope = "default"

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
