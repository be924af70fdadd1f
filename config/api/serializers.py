from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.ids import uuid_or_none
from config.json_limits import json_too_deep, json_without_nul

# Every JSON field of the API (attributes, config, metadata...) nests at most this deep and
# takes at most this many bytes as JSON.
JSON_FIELD_MAX_DEPTH = 16
JSON_FIELD_MAX_BYTES = 65_536


# What the schema says of every string a client sends (pattern), and what is refused: NUL
# characters, which PostgreSQL cannot store.
NO_NUL_PATTERN = "^[^\\x00]*$"
# A string that may not be blank: a character that is not whitespace (the schema's hook makes it
# NOT_BLANK_NO_NUL_PATTERN in requests).
NOT_BLANK_PATTERN = "\\S"
NOT_BLANK_NO_NUL_PATTERN = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
# RFC 3339's date-time, as the schema's `format: date-time` means it (JSON Schema validators
# check it so): seconds and an offset are required, and the digits are ASCII. The schema
# states it as a pattern too (config.api.schema).
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
_RFC3339 = re.compile(DATETIME_PATTERN)
# A UUID as the schema's `format: uuid` writes it.
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def rfc3339_datetime(value: object) -> dt.datetime | None:
    """A client's date-time, when it is an RFC 3339 one that fits Python's datetime (years 1 to
    9999 in UTC too); None otherwise."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        return None
    try:
        parsed = parse_datetime(value)
        return parsed.astimezone(dt.UTC) if parsed is not None else None
    except (ValueError, OverflowError):
        return None


class StrictCharField(serializers.CharField):
    """A string, and only a string (DRF's CharField also takes a number or a boolean and
    makes it one, where the schema says `type: string`). One that may not be blank says so in
    the schema too: it needs a character that is not whitespace (it is trimmed first)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.read_only and not self.allow_blank and self.trim_whitespace:
            self.validators.append(RegexValidator(NOT_BLANK_PATTERN, message="This field may not be blank."))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false (DRF's BooleanField also takes "yes", "on", 1...)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, as JSON Schema has it (`5`, or `5.0`: no fraction), never a string or a
    boolean (DRF's IntegerField also takes "5" and true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


class StrictDateTimeField(serializers.DateTimeField):
    """An RFC 3339 date-time, as the schema's `format: date-time` says (DRF's DateTimeField also
    takes one without seconds or without an offset)."""

    default_error_messages = {
        "invalid": "Use an RFC 3339 date-time: 2026-05-13T14:30:00Z or 2026-05-13T11:30:00-03:00."}

    def to_internal_value(self, value: Any) -> dt.datetime:
        parsed = rfc3339_datetime(value)
        if parsed is None:
            self.fail("invalid")
        return timezone.localtime(parsed) if settings.USE_TZ else parsed


# An email address or "" (none): as contacts' emails are, in and out.
EMAIL_OR_EMPTY_SCHEMA = {"type": "string", "maxLength": 254, "anyOf": [{"format": "email"}, {"maxLength": 0}]}


@extend_schema_field(EMAIL_OR_EMPTY_SCHEMA)
class EmailOrEmptyField(StrictCharField):
    """An email address, or "" when there is none (the schema's `format: email` alone would
    refuse the empty string)."""


@extend_schema_field({"type": "object", "additionalProperties": True, "maxProperties": 100})
class JSONObjectField(serializers.JSONField):
    """A JSON object (not a list, string or number, nor null), of bounded depth and size.
    Checked without recursion, before anything recursive (json.dumps) sees it. NUL characters
    are taken out of its keys and strings (PostgreSQL cannot store them in jsonb; the schema
    cannot say "no NUL anywhere inside" of an object of any shape)."""

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
        value = super().to_internal_value(json_without_nul(data))
        try:
            size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        except UnicodeEncodeError:  # a lone surrogate (\ud800): no UTF-8 text, nor jsonb, can hold it
            raise serializers.ValidationError("Surrogate characters are not allowed.",
                                              code="surrogate_characters") from None
        if size > JSON_FIELD_MAX_BYTES:
            raise serializers.ValidationError(f"At most {JSON_FIELD_MAX_BYTES} bytes as JSON.", code="too_large")
        return value


def PublicIdField(**kwargs: Any) -> serializers.UUIDField:  # noqa: N802 - reads as a field class
    """A row's id as clients know it: its public id (the integer primary key never leaves)."""
    return serializers.UUIDField(source=kwargs.pop("source", "public_id"), read_only=True, **kwargs)


_CANONICAL_UUID = re.compile(UUID_PATTERN)


def canonical_uuid_or_none(value: object) -> Any:
    """A UUID a client sent, written as the schema's `format: uuid` says (8-4-4-4-12 hex
    digits: not 32 digits in a row, nor braces, nor a URN); None otherwise."""
    return uuid_or_none(value) if isinstance(value, str) and _CANONICAL_UUID.match(value) else None


class PublicIdInput(serializers.UUIDField):
    """A public id a client sends: a UUID as a string, in its canonical form. (DRF's UUIDField
    also takes an integer as the UUID's 128 bits, and other writings; here an integer, the kind
    of id that never leaves, is invalid.)"""

    def to_internal_value(self, data: Any) -> Any:
        value = canonical_uuid_or_none(data)
        if value is None:
            self.fail("invalid", value=data)
        return value


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

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # DRF's related fields read "" as null: the schema says a UUID or null, and "" is neither.
        if data == "":
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        value = canonical_uuid_or_none(data)
        if value is None:
            self.fail("invalid")
        queryset = self.get_queryset()
        found = queryset.filter(public_id=value).first() if queryset is not None else None
        if found is None:
            self.fail("does_not_exist", name=self.name, value=value)
        return found

    def to_representation(self, value: Any) -> str:
        return str(value.public_id)
