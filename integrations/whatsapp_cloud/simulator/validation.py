"""Meta's synchronous checks of a send body (131008 for what is missing, 100 for what is wrong)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import _graph_error_response
from .wire import _digits, _Response

MESSAGE_TYPES = frozenset(
    {"text", "image", "document", "audio", "video", "sticker", "location", "contacts", "template", "interactive",
     "reaction"}
)
MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})
TEXT_BODY_LIMIT = 4096

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def _validate_send(payload: Mapping[str, Any]) -> _Response | None:
    """Meta's synchronous checks of a send body: 131008 for what is missing, 100 for what is wrong."""
    product = payload.get("messaging_product")
    if product is None:
        return _graph_error_response(131008, details="The parameter messaging_product is required.")
    if product != "whatsapp":
        return _graph_error_response(100, details=f'Param messaging_product must be one of {{WHATSAPP}} - got '
                                                  f'"{product}".')
    recipient_type = payload.get("recipient_type", "individual")
    if recipient_type != "individual":
        return _graph_error_response(100, details=f'Param recipient_type must be one of {{INDIVIDUAL}} - got '
                                                  f'"{recipient_type}".')
    to = payload.get("to")
    if not isinstance(to, str) or not to.strip():
        return _graph_error_response(131008, details="The parameter to is required.")
    if not 7 <= len(_digits(to)) <= 15:
        return _graph_error_response(100, details=f"Invalid 'to' parameter: {to!r} is not a phone number.")
    kind = payload.get("type", "text")
    if kind not in MESSAGE_TYPES:
        return _graph_error_response(100, details=f'Param type must be one of {{{", ".join(sorted(MESSAGE_TYPES)).upper()}}}'
                                                  f' - got "{kind}".')
    content = payload.get(kind)
    if not isinstance(content, dict) and not (kind == "contacts" and isinstance(content, list)):
        return _graph_error_response(131008, details=f"The parameter {kind} is required.")
    context = payload.get("context")
    if context is not None and not (isinstance(context, dict) and isinstance(context.get("message_id"), str)):
        return _graph_error_response(131008, details="The parameter context['message_id'] is required.")
    missing = _missing_field(kind, content)
    if missing:
        return _graph_error_response(131008, details=f"The parameter {missing} is required.")
    if kind == "text" and isinstance(content, dict) and len(content["body"]) > TEXT_BODY_LIMIT:
        return _graph_error_response(100, details=f"Param text['body'] must be at most {TEXT_BODY_LIMIT} "
                                                  f"characters long.")
    return None


def _missing_field(kind: str, content: Any) -> str | None:
    if kind == "text":
        return None if isinstance(content.get("body"), str) and content["body"] else "text['body']"
    if kind in MEDIA_TYPES:
        return None if content.get("id") or content.get("link") else f"{kind}['id'] or {kind}['link']"
    if kind == "location":
        for name in ("latitude", "longitude"):
            if content.get(name) is None:
                return f"location['{name}']"
        return None
    if kind == "contacts":
        return None if isinstance(content, list) and content else "contacts"
    if kind == "template":
        if not content.get("name"):
            return "template['name']"
        language = content.get("language")
        return None if isinstance(language, dict) and language.get("code") else "template['language']['code']"
    if kind == "interactive":
        if not content.get("type"):
            return "interactive['type']"
        return None if isinstance(content.get("action"), dict) else "interactive['action']"
    if kind == "reaction":
        return None if content.get("message_id") else "reaction['message_id']"
    return None
