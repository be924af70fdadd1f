from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.ids import uuid_or_none
from config.json_limits import json_has_nul, json_too_deep

# Every JSON field of the API (attributes, config, metadata...) nests at most this deep and
# takes at most this many bytes as JSON.
JSON_FIELD_MAX_DEPTH = 16
JSON_FIELD_MAX_BYTES = 65_536


class JSONObjectField(serializers.JSONField):
    """A JSON object (not a list, string or number), of bounded depth and size, with no NUL
    characters (PostgreSQL cannot store them in jsonb). Checked without recursion, before
    anything recursive (json.dumps) sees it."""

    def __init__(self, *, max_keys: int = 100, **kwargs: Any) -> None:
        self.max_keys = max_keys
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.", code="invalid")
        if json_too_deep(data, limit=JSON_FIELD_MAX_DEPTH):
            raise serializers.ValidationError(f"Nested deeper than {JSON_FIELD_MAX_DEPTH} levels.", code="too_deep")
        if len(data) > self.max_keys:
            raise serializers.ValidationError(f"At most {self.max_keys} keys.", code="too_many_keys")
        if json_has_nul(data):
            raise serializers.ValidationError("Null characters are not allowed.", code="null_characters")
        value = super().to_internal_value(data)
        if len(json.dumps(value, separators=(",", ":")).encode()) > JSON_FIELD_MAX_BYTES:
            raise serializers.ValidationError(f"At most {JSON_FIELD_MAX_BYTES} bytes as JSON.", code="too_large")
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
