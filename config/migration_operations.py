"""Migration operations the project needs beyond Django's own."""

from __future__ import annotations

from typing import Any

from django.db.migrations.operations import AddIndex, RemoveIndex


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
