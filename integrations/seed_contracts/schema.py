"""How the seed contracts appear in the OpenAPI schema: each under its seed's tag, and with the
API's error responses wherever their paths are (some are outside /api/v1/)."""

from __future__ import annotations

from typing import Any

from config.api.schema import AutoSchema

SEED_000 = "seed 000: WhatsApp instances"
SEED_001 = "seed 001: WhatsApp connection"
SEED_004 = "seed 004: WhatsApp integrations"


class SeedSchema(AutoSchema):
    """A seed contract's operation: tagged with its view's `seed_tag`; `api_errors` (default
    True) says whether it answers with the API's errors (a provider's webhook does not: it
    documents its own answers)."""

    def documents_api_errors(self) -> bool:
        return bool(getattr(self.view, "api_errors", True))

    def get_tags(self) -> list[str]:
        tag: Any = getattr(self.view, "seed_tag", "")
        return [str(tag)] if tag else super().get_tags()
