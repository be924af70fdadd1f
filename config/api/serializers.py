from __future__ import annotations

from typing import Any

from rest_framework import serializers


class JSONObjectField(serializers.JSONField):
    """A JSON object (not a list, string or number), of bounded size."""

    def __init__(self, *, max_keys: int = 100, **kwargs: Any) -> None:
        self.max_keys = max_keys
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if len(value) > self.max_keys:
            raise serializers.ValidationError(f"At most {self.max_keys} keys.")
        return value
