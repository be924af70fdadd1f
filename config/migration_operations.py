"""Migration operations the project needs beyond Django's own."""

from __future__ import annotations

from typing import Any

from django.db.migrations.operations import AddIndex


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
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            change(model, self.index, concurrently=True)
        else:
            change(model, self.index)
