"""config.ids: the public ids (UUIDv7) that leave the server in place of primary keys."""

from __future__ import annotations

import datetime as dt
import uuid

from config.ids import as_uuid, uuid7, uuid7_at, uuid_or_none


def _milliseconds(value: uuid.UUID) -> int:
    return value.int >> 80


def test_new_ids_are_version_7_and_sort_as_they_were_made():
    made = [uuid7() for _ in range(1000)]

    assert all(value.version == 7 and value.variant == uuid.RFC_4122 for value in made)
    assert made == sorted(made) and [str(value) for value in made] == sorted(str(value) for value in made)
    assert len(set(made)) == len(made)


def test_an_id_of_a_moment_carries_it_and_sorts_with_it():
    earlier = dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    later = earlier + dt.timedelta(milliseconds=1)

    first, second = uuid7_at(earlier), uuid7_at(later)

    assert first.version == second.version == 7 and first.variant == uuid.RFC_4122
    assert _milliseconds(first) == int(earlier.timestamp() * 1000)
    assert first < second < uuid7()


def test_what_clients_and_databases_give_is_read_as_a_uuid():
    value = uuid7()

    assert as_uuid(value.hex) == as_uuid(value) == value  # SQLite gives 32 hex digits back
    assert uuid_or_none(str(value)) == value
    assert [uuid_or_none(bad) for bad in (None, 7, 7.0, "7", "", "x" * 100, ["a"], "0190e0e5-8a1c")] == [None] * 8
