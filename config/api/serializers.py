from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.ids import uuid_or_none


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class JSONObjectField(serializers.JSONField):
    """A JSON object (not a list, string or number), of bounded size, with no NUL
    characters (PostgreSQL cannot store them in jsonb)."""

    def __init__(self, *, max_keys: int = 100, **kwargs: Any) -> None:
        self.max_keys = max_keys
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if len(value) > self.max_keys:
            raise serializers.ValidationError(f"At most {self.max_keys} keys.")
        if _has_nul(value):
            raise serializers.ValidationError("Null characters are not allowed.")
        return value


def PublicIdField(**kwargs: Any) -> serializers.UUIDField:  # noqa: N802 - reads as a field class
    """A row's id as clients know it: its public id (the integer primary key never leaves)."""
    return serializers.UUIDField(source=kwargs.pop("source", "public_id"), read_only=True, **kwargs)


class PublicIdInput(serializers.UUIDField):
    """A public id a client sends: a UUID as a string. (DRF's UUIDField also takes an integer
    as the UUID's 128 bits; here an integer, the kind of id that never leaves, is invalid.)"""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.UUID)
class PublicIdRelatedField(serializers.RelatedField):
    """A row named by its public id, among the rows of `get_queryset()` (subclasses scope it to
    what the requesting member may see): a malformed id is invalid, and an id that is not
    there (another tenant's, or one the member may not see) does not exist, like an unknown one."""

    default_error_messages = {
        "invalid": "Must be a valid UUID.",
        "does_not_exist": "No such {name} in your account: {value}.",
    }

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        self.name = name
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        value = uuid_or_none(data) if isinstance(data, str) else None
        if value is None:
            self.fail("invalid")
        queryset = self.get_queryset()
        found = queryset.filter(public_id=value).first() if queryset is not None else None
        if found is None:
            self.fail("does_not_exist", name=self.name, value=value)
        return found

    def to_representation(self, value: Any) -> str:
        return str(value.public_id)
