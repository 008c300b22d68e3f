"""Register the shipped model as the first version once the tables exist."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def register_initial_model(sender, **kwargs) -> None:
    from django.db import DEFAULT_DB_ALIAS

    from recognizer.services.model_versions import model_version_ensure_active

    using = kwargs.get("using", DEFAULT_DB_ALIAS)
    if using != DEFAULT_DB_ALIAS or not _fully_migrated(using):
        # Migrated back or only part of the way: the tables do not match the models the registration uses.
        return
    try:
        version = model_version_ensure_active()
    except FileNotFoundError as error:
        logger.warning("No model registered: %s", error)
        return
    if kwargs.get("verbosity", 1) >= 2:
        logger.info("Active model version: %s", version)


def _fully_migrated(using: str) -> bool:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[using])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def tokens_changed(sender, **kwargs) -> None:
    """A token or a user was saved or deleted: every process forgets the tokens it keeps."""
    from recognizer.caching import generation_bump_on_commit

    # A log-in writes only `last_login`, which no token's answer depends on.
    if set(kwargs.get("update_fields") or ()) == {"last_login"}:
        return
    generation_bump_on_commit(kind="tokens")


def model_versions_changed(sender, **kwargs) -> None:
    """A model version was saved or deleted: every process looks the active version up again."""
    from recognizer.caching import generation_bump_on_commit

    generation_bump_on_commit(kind="model_versions")
