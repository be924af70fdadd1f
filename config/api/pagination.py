from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from config.errors import ValidationFailed


class CursorPagination(pagination.CursorPagination):
    """Stable pages however many rows arrive meanwhile. Views set `ordering`."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Any) -> int:
        """The page_size asked for, or the default; anything but a whole number from 1 to
        max_page_size is a 400 (the schema says so)."""
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        if not (asked.isascii() and asked.isdigit() and 1 <= int(asked) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(asked)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size,
                                       "default": self.page_size}
                parameter["description"] = f"Results per page, 1 to {self.max_page_size}."
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = "The `next` or `previous` cursor of a page this endpoint returned."
        return parameters

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "ordering", None) or self.ordering)

    def decode_cursor(self, request: Any) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:  # well-formed (a string), but no page this endpoint gave
            raise ValidationFailed("cursor: Invalid cursor.", details={"cursor": ["Invalid cursor."]}) from None

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": ["string", "null"], "format": "uri",
                "description": "The page's neighbour, or null at the end."}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }
