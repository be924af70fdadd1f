from __future__ import annotations

from typing import IO, Any

from django.conf import settings
from rest_framework import parsers

from config.api.exceptions import PayloadTooLarge


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser that refuses to read more than API_MAX_BODY_BYTES, even when
    the client sent no Content-Length (chunked)."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        import io

        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        return super().parse(io.BytesIO(raw), media_type, parser_context)
