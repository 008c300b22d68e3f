"""A base for management commands that work on the project's tables."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated_database(database: str = DEFAULT_DB_ALIAS) -> None:
    """Raise CommandError, naming the fix, when the database lacks migrations."""
    executor = MigrationExecutor(connections[database])
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        raise CommandError(
            f"The database has {len(unapplied)} unapplied migration(s): run `python manage.py migrate` first."
        )


class DatabaseCommand(BaseCommand):
    """A command that refuses to start on an unmigrated database instead of failing halfway with a traceback."""

    def execute(self, *args, **options):
        require_migrated_database()
        return super().execute(*args, **options)
