"""Query-parameter filters of the API that take exactly what the schema says (django-filter's
also take other writings of a date-time or a UUID, which the schema's formats refuse)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from config.api.serializers import canonical_uuid_or_none, rfc3339_datetime


class _Rfc3339Field(forms.CharField):
    def to_python(self, value: Any) -> Any:
        if value is None:  # not given (given empty, it is no date-time)
            return None
        parsed = rfc3339_datetime(value)
        if parsed is None:
            raise forms.ValidationError("Use an RFC 3339 date-time: 2026-05-13T14:30:00Z.", code="invalid")
        return parsed


class _CanonicalUuidField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        if value is None:
            return None
        parsed = canonical_uuid_or_none(value)
        if parsed is None:
            raise forms.ValidationError("Must be a valid UUID.", code="invalid")
        return parsed


@extend_schema_field(OpenApiTypes.DATETIME)
class DateTimeFilter(django_filters.Filter):
    """An RFC 3339 date-time (`format: date-time`)."""

    field_class = _Rfc3339Field


@extend_schema_field(OpenApiTypes.UUID)
class UUIDFilter(django_filters.Filter):
    """A UUID in its canonical 8-4-4-4-12 form (`format: uuid`)."""

    field_class = _CanonicalUuidField
