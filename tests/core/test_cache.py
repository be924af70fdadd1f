"""config.cache: marks and counters on the shared cache (Redis where configured)."""

from __future__ import annotations

from config.cache import counter_add, mark_add, mark_delete


def test_a_mark_is_set_once_until_deleted():
    assert mark_add("test:mark", 5) is True
    assert mark_add("test:mark", 5) is False
    mark_delete("test:mark")
    assert mark_add("test:mark", 5) is True


def test_a_counter_counts_from_one():
    assert [counter_add("test:counter", 5) for _ in range(3)] == [1, 2, 3]
