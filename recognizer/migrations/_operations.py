"""Migration operations of our own (the leading underscore keeps the loader from reading this as a migration)."""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexWithoutLocking(AddIndex):
    """Add an index without blocking writes: CONCURRENTLY on PostgreSQL, a plain index elsewhere.

    A big table stays writable while PostgreSQL builds the index; the
    migration must say `atomic = False`, since CONCURRENTLY cannot run in a
    transaction. SQLite locks the whole database for any write anyway.
    """

    atomic = False

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            concurrent = AddIndexConcurrently(self.model_name, self.index)
            return concurrent.database_forwards(app_label, schema_editor, from_state, to_state)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            concurrent = AddIndexConcurrently(self.model_name, self.index)
            return concurrent.database_backwards(app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)
