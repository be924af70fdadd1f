"""Bounds on JSON that others send us: how deep it nests, and NUL characters (PostgreSQL text
and jsonb cannot hold them). Nothing here recurses, so input cannot drive it into Python's
recursion limit.

`raw_json_depth` reads raw bytes before anything parses them (Python's json module recurses
once per level and fails past about a thousand); the others walk what was parsed already."""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

# A JSON string literal (escapes included), matched without backtracking.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)
# Opening brackets as +1, closing ones as -1 (a signed byte).
_STEPS = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")
NUL = "\x00"


def raw_json_too_deep(raw: bytes, *, limit: int) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than `limit`, counted on its
    bytes in linear time. Brackets inside strings do not count; text that is not JSON gets an
    answer all the same (the parser will refuse it)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the common case: two C-speed scans
        return False
    steps = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).translate(_STEPS)
    return max(accumulate(array("b", steps)), default=0) > limit


def json_too_deep(value: Any, *, limit: int) -> bool:
    """Whether a parsed JSON value nests deeper than `limit` (a scalar: 0 levels, `{}` or
    `[]`: 1); the walk stops as soon as it knows."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth + 1 > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, Mapping) else item))
    return False


def json_has_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds a NUL character in any string, key or value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def json_without_nul(value: Any) -> Any:
    """A copy of a parsed JSON value with NUL characters taken out of every string, key and
    value (the value itself when it holds none)."""
    if not json_has_nul(value):
        return value
    if isinstance(value, str):
        return value.replace(NUL, "")
    root: list[Any] = [None]
    # (source container, where its copy goes: (parent copy, key or index))
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, str):
            parent[slot] = item.replace(NUL, "")
        elif isinstance(item, Mapping):
            copy: dict[Any, Any] = {}
            parent[slot] = copy
            for key, child in item.items():
                key = key.replace(NUL, "") if isinstance(key, str) else key
                copy[key] = None
                stack.append((child, copy, key))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            parent[slot] = item
    return root[0]
