from __future__ import annotations

from typing import Any

from rest_framework import serializers


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
