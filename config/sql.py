"""Plain SQL for the few hottest statements (webhook processing), where compiling a query
through the ORM costs more CPU than running it. Everything else goes through the ORM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def placeholders(values: Sequence[Any]) -> str:
    """`%s, %s, ...` for an IN (...) of these values (never empty: callers check)."""
    return ", ".join(["%s"] * len(values))


def for_update(*, skip_locked: bool = False) -> str:
    """The locking clause where the database has one (SQLite locks the whole database)."""
    if not connection.features.has_select_for_update:
        return ""
    return " FOR UPDATE SKIP LOCKED" if skip_locked and connection.features.has_select_for_update_skip_locked \
        else " FOR UPDATE"
