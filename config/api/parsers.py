"""The API's JSON parser: DRF's, behind a depth check of the raw body (settings.REST_FRAMEWORK)."""

from __future__ import annotations

import io
from typing import IO, Any

from rest_framework import exceptions, parsers

from config.json_limits import raw_json_too_deep

# No request of the API nests deeper (its JSON fields nest JSON_FIELD_MAX_DEPTH levels at most);
# Python's json module would fail past about a thousand levels.
MAX_BODY_DEPTH = 32


class JsonTooDeep(exceptions.ParseError):
    default_detail = f"The JSON body nests deeper than {MAX_BODY_DEPTH} levels."
    default_code = "json_too_deep"


class JSONParser(parsers.JSONParser):
    """Refuses a body that nests deeper than MAX_BODY_DEPTH before parsing it (a linear scan of
    its bytes; the body's size is bounded by API_MAX_BODY_BYTES already)."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()
        if raw_json_too_deep(raw, limit=MAX_BODY_DEPTH):
            raise JsonTooDeep()
        return super().parse(io.BytesIO(raw), media_type, parser_context)
