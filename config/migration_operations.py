"""Migration operations the project needs beyond Django's own."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.migrations.operations import AddField, AddIndex, AlterField, RemoveIndex, RunPython
from django.db.migrations.operations.base import Operation

from config.ids import uuid7, uuid7_at

# Rows given their public id per UPDATE (bulk_update): small enough for its CASE to stay cheap.
PUBLIC_ID_BATCH = 2000


class AddIndexConcurrently(AddIndex):
    """AddIndex that does not block writes on PostgreSQL (CREATE INDEX CONCURRENTLY, for a
    table that may be large in a running installation), and a plain CREATE INDEX elsewhere.
    The migration holding it must set `atomic = False`."""

    atomic = False

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._apply(schema_editor, to_state.apps.get_model(app_label, self.model_name), schema_editor.add_index)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        self._apply(schema_editor, from_state.apps.get_model(app_label, self.model_name), schema_editor.remove_index)

    def _apply(self, schema_editor: Any, model: Any, change: Any) -> None:
        _apply(schema_editor, model, self.index, change, self)


class RemoveIndexConcurrently(RemoveIndex):
    """RemoveIndex without blocking writes on PostgreSQL (DROP INDEX CONCURRENTLY); a plain
    DROP INDEX elsewhere. The migration holding it must set `atomic = False`."""

    atomic = False

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        _apply(schema_editor, model, index, schema_editor.remove_index, self)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        _apply(schema_editor, model, index, schema_editor.add_index, self)


def _apply(schema_editor: Any, model: Any, index: Any, change: Any, operation: Any) -> None:
    if not operation.allow_migrate_model(schema_editor.connection.alias, model):
        return
    if schema_editor.connection.vendor == "postgresql":
        change(model, index, concurrently=True)
    else:
        change(model, index)


def public_id_added(model_name: str, *, time_field: str | None) -> list[Operation]:
    """The operations that give a model of the migration's app its `public_id`: the column,
    nullable; an id for every existing row (FillPublicIds, from the row's `time_field`); then
    NOT NULL and UNIQUE. Backwards, the column goes."""
    return [
        AddField(model_name, "public_id", models.UUIDField(null=True, editable=False, verbose_name="public id")),
        FillPublicIds(model_name, time_field=time_field),
        AlterField(model_name, "public_id",
                   models.UUIDField(default=uuid7, editable=False, unique=True, verbose_name="public id")),
    ]


class FillPublicIds(RunPython):
    """Give every row of `model_name` that has no public id one: a UUIDv7 of the row's
    `time_field` (so that the ids sort as the rows were created), or of now for a model without
    one. Through the ORM, in batches of `batch_size` rows in id order (one bulk_update each), so
    that a large table is never read whole. Backwards: nothing (the column is dropped next)."""

    def __init__(self, model_name: str, *, time_field: str | None, batch_size: int = PUBLIC_ID_BATCH) -> None:
        self.model_name, self.time_field, self.batch_size = model_name, time_field, batch_size
        super().__init__(RunPython.noop, RunPython.noop)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return type(self).__name__, [self.model_name], {"time_field": self.time_field, "batch_size": self.batch_size}

    def describe(self) -> str:
        return f"Give every {self.model_name} a public id"

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        rows = model._base_manager.using(schema_editor.connection.alias).filter(public_id__isnull=True)
        pk = model._meta.pk.name
        fields = [pk, *([self.time_field] if self.time_field else [])]
        last = None
        while True:
            batch = rows.filter(**{f"{pk}__gt": last}) if last is not None else rows
            found = list(batch.order_by(pk).only(*fields)[: self.batch_size])
            if not found:
                return
            for row in found:
                moment = getattr(row, self.time_field) if self.time_field else None
                row.public_id = uuid7_at(moment) if moment is not None else uuid7()
            model._base_manager.using(schema_editor.connection.alias).bulk_update(found, ["public_id"])
            last = found[-1].pk

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        pass
