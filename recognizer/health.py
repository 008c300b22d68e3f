"""Readiness checks of the recognizer's own (django-health-check checks; the generic ones come from the library).

Their messages are shown by /readyz to anyone: they name what is wrong, never a path or a version of software.
"""

from __future__ import annotations

import dataclasses
import datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from recognizer import conf


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration this code knows is applied (a process started before `migrate` finished is not ready)."""

    def run(self) -> None:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if unapplied:
            raise ServiceUnavailable(f"{len(unapplied)} migration(s) not applied")


@dataclasses.dataclass
class ServedModel(HealthCheck):
    """The active version can answer: loaded in this process when it predicts, else ready in storage for workers.

    With a broker the web process never loads the model (docs/celery.md: workers predict, and the web
    process stays small), so there the check asks only for what the release step's `ensure_model`
    leaves in storage: the active version's file and its served copy, which workers load without TensorFlow.
    """

    # Loading a version the first time may take seconds (exporting it, when no copy is stored yet).
    timeout = datetime.timedelta(seconds=30)

    def run(self) -> None:
        from recognizer.inference import engine, served_copy_stored
        from recognizer.models import ModelVersion
        from recognizer.selectors.model_versions import model_version_active

        try:
            version = model_version_active()
        except ModelVersion.DoesNotExist as error:
            raise ServiceUnavailable("No active model version") from error
        if conf.has_broker():
            if not served_copy_stored(version):
                raise ServiceUnavailable("The active version's served copy is not in storage")
            return
        try:
            engine.model_for(version)
            engine.detector_for(version)
        except Exception as error:
            raise ServiceUnavailable("The active version could not be loaded") from error
