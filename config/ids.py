"""Public ids: what leaves the server in place of a row's integer primary key (URLs, API
bodies and parameters, WebSocket frames, JWT claims, the reference a provider echoes back).

They are UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, so new ids
sort after older ones and PostgreSQL's unique indexes on them stay local, as they are on a
sequence, while they reveal neither a count nor a neighbour's id."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

import uuid6

_TIMESTAMP_BITS = 48
# Below the time: the version (4 bits), 12 random bits, the variant (2 bits), 62 random bits; the
# UUID sets version and variant over what is there, as uuid6.uuid7 does.
_BELOW_TIME_BITS = 128 - _TIMESTAMP_BITS


def uuid7() -> uuid.UUID:
    """A new public id. Monotonic within a process: uuid6 moves the millisecond on when several
    ids are made in the same one, so a process making more than a thousand a second runs ahead
    of its clock for a while (the order holds; what reads time uses the rows' timestamps)."""
    return uuid6.uuid7()


def uuid7_at(moment: dt.datetime) -> uuid.UUID:
    """A public id whose time is `moment`: for rows that existed before they had one, so that
    their ids sort as the rows were created."""
    milliseconds = int(moment.timestamp() * 1000) & ((1 << _TIMESTAMP_BITS) - 1)
    return uuid6.UUID(int=milliseconds << _BELOW_TIME_BITS | secrets.randbits(_BELOW_TIME_BITS - 4), version=7)


def as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    """A public id as a database gives it back to plain SQL (a UUID from PostgreSQL, 32 hex
    digits from SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def uuid_or_none(value: object) -> uuid.UUID | None:
    """`value` (what a client sent: a string, or anything else) as a UUID, or None when it
    is not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
