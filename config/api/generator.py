"""The OpenAPI schema's generator (settings.SPECTACULAR_SETTINGS)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import SchemaGenerator

from tenants.scoping import unscoped


class Generator(SchemaGenerator):
    """Schema generation inspects models of every app; it reads no tenant's rows, so it
    runs outside any tenant."""

    def get_schema(self, *args: Any, **kwargs: Any) -> Any:
        with unscoped():
            return super().get_schema(*args, **kwargs)
