"""Plain SQL for the few hottest statements (webhook processing), where compiling a query
through the ORM costs more CPU than running it. Everything else goes through the ORM.
(Both databases take all of it: SQLite has had RETURNING and ON CONFLICT since 3.35.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime


@contextmanager
def planned_for_their_values() -> Iterator[None]:
    """Statements run inside are planned for the values of their parameters each time, never
    prepared. After five runs of a prepared statement PostgreSQL may keep one generic plan,
    whatever the values; where the best plan depends on them (which channels an agent works,
    which status), that plan can read the whole table: an agent's unread conversations at ten
    million messages counted in 7 ms planned for the agent's channels, 43 ms with the generic
    plan (a sequential scan). Planning again costs a fraction of a millisecond."""
    connection.ensure_connection()
    driver = connection.connection
    threshold = getattr(driver, "prepare_threshold", None)
    if threshold is None:  # not PostgreSQL, or statements are never prepared
        yield
        return
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def moment(value: Any) -> Any:
    """A datetime as a parameter of plain SQL, as the ORM would write it (SQLite keeps text,
    which must read the same to compare)."""
    return connection.ops.adapt_datetimefield_value(value)


def moment_read(value: Any) -> Any:
    """A datetime read by plain SQL, as the ORM would read it: aware, UTC (SQLite gives text back,
    or a naive datetime, as it keeps them)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def placeholders(values: Sequence[Any]) -> str:
    """`%s, %s, ...` for an IN (...) of these values (never empty: callers check)."""
    return ", ".join(["%s"] * len(values))


def one_of(column: str, values: Sequence[Any], *, negated: bool = False) -> tuple[str, list[Any]]:
    """`column` is (`negated`: is not) one of `values`, as SQL and its parameters.
    PostgreSQL gets one array parameter, so the statement reads the same whatever the count
    and is prepared once; other databases get an IN (...) list. `values` is never empty
    (callers check)."""
    if connection.vendor == "postgresql":
        return f"{column} {'<> ALL' if negated else '= ANY'}(%s)", [list(values)]
    return f"{column} {'NOT IN' if negated else 'IN'} ({placeholders(values)})", list(values)


def for_update(*, skip_locked: bool = False, of: str = "") -> str:
    """The locking clause where the database has one (SQLite locks the whole database);
    `of`: the table (alias) whose rows are locked, in a join."""
    if not connection.features.has_select_for_update:
        return ""
    clause = f" FOR UPDATE OF {of}" if of else " FOR UPDATE"
    return clause + " SKIP LOCKED" if skip_locked and connection.features.has_select_for_update_skip_locked \
        else clause



_M = TypeVar("_M", bound=Model)


def insert(objs: Sequence[_M], *, conflicts_by: str | None = None) -> list[_M]:
    """INSERT `objs` (new instances of one model) in one statement and set their ids: what
    bulk_create does, without compiling the statement through the ORM on every call.

    With `conflicts_by` (a field whose value tells the objects apart), a row that would
    break a unique constraint is left out instead of failing the statement (ON CONFLICT DO
    NOTHING; a concurrent writer's uncommitted row is waited for first), and only the
    objects inserted are returned, in order; the others keep no id."""
    if not objs:
        return []
    meta = type(objs[0])._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key and not field.generated]
    params: list[Any] = []
    for obj in objs:
        params += [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    quote = connection.ops.quote_name
    returning = quote(meta.pk.column)
    if conflicts_by is not None:
        returning += ", " + quote(meta.get_field(conflicts_by).column)
    row = f"({placeholders(fields)})"
    rows = fetch_all(
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES {', '.join([row] * len(objs))}{' ON CONFLICT DO NOTHING' if conflicts_by else ''} "
        f"RETURNING {returning}", params)
    if conflicts_by is None:
        inserted = list(objs)
        ids = [found[0] for found in rows]
    else:
        by_key = {key: pk for pk, key in rows}
        inserted = [obj for obj in objs if getattr(obj, conflicts_by) in by_key]
        ids = [by_key[getattr(obj, conflicts_by)] for obj in inserted]
    for obj, pk in zip(inserted, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    return inserted


_converters: dict[tuple[type[Model], str], list[tuple[int, list[Any], Any]]] = {}


def instances(model: type[_M], sql: str, params: Sequence[Any], *, extra: Sequence[str] = ()) -> list[_M]:
    """The rows of `sql` as instances of `model`: what raw() gives, without its per-call
    work (resolving the columns, looking the converters up). `sql` selects the model's
    concrete columns in their order (`columns(model)`), then one column per name in `extra`,
    set as attributes."""
    fields = model._meta.concrete_fields
    converters = _converters.get((model, connection.vendor))
    if converters is None:
        converters = []
        for index, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                converters.append((index, found, column))
        _converters[(model, connection.vendor)] = converters
    names, count, found_objs = [field.attname for field in fields], len(fields), []
    for row in fetch_all(sql, params):
        values = list(row[:count])
        for index, field_converters, column in converters:
            for converter in field_converters:
                values[index] = converter(values[index], column, connection)
        obj = model.from_db(connection.alias, names, values)
        for name, value in zip(extra, row[count:], strict=True):
            setattr(obj, name, value)
        found_objs.append(obj)
    return found_objs


def columns(model: type[Model], alias: str = "") -> str:
    """The model's concrete columns, by name and in order (not `*`: a prepared statement must
    not change shape with the table), for `instances`."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{field.column}" for field in model._meta.concrete_fields)


def update(obj: Model, fields: Sequence[str]) -> int:
    """UPDATE these fields of `obj` (by id): save(update_fields=...) without compiling the
    statement through the ORM (auto_now fields are not touched unless named)."""
    meta = obj._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    return execute(
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(field.column)} = %s' for field in columns)} "
        f"WHERE {quote(meta.pk.column)} = %s",
        [*(field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns), obj.pk])
