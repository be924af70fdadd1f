"""What every id that leaves the server must look like: a public id (a UUID string), never an
integer (a primary key, which would reveal the platform's volume and invite guessing)."""

from __future__ import annotations

import uuid
from typing import Any

# Ids that are not ours but someone else's, kept as they gave them: the integrator's own id for a
# message, a provider's id for it, a contact's address on a channel.
FOREIGN_IDS = frozenset({"external_id", "provider_message_id"})


def is_id_key(key: str) -> bool:
    return key == "id" or key.endswith("_id")


def assert_no_integer_ids(value: Any, path: str = "") -> int:
    """Walk `value` (a JSON body, a frame, claims...): under every key `id` or `*_id` there is a
    UUID string or null, never an integer (nor digits in a string). How many ids it checked."""
    checked = 0
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(key, str) and is_id_key(key) and key not in FOREIGN_IDS:
                assert not isinstance(item, int), f"an integer id leaves the server at {where}: {item!r}"
                if item is not None:
                    assert isinstance(item, str), f"{where} is not a public id: {item!r}"
                    uuid.UUID(item)  # raises ValueError when it is not one
                    checked += 1
            checked += assert_no_integer_ids(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            checked += assert_no_integer_ids(item, f"{path}[{index}]")
    return checked
