"""Stored files that belong to rows: never left behind when their row is not stored."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.storage import Storage, default_storage
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from recognizer.models import ModelVersion, Submission

logger = logging.getLogger(__name__)

# Files under these folders belong to a row; anything else in storage is left alone.
OWNED_FOLDERS = ("submissions", "models")
SWEEP_CHUNK = 500


@contextlib.contextmanager
def files_removed_on_error(files: list[FieldFile]) -> Iterator[None]:
    """Delete `files` from storage if the block raises: their rows were never stored."""
    try:
        yield
    except BaseException:
        for file in files:
            if file:
                with contextlib.suppress(Exception):
                    file.storage.delete(file.name)
        raise


def files_sweep_orphans(*, older_than: timedelta = timedelta(hours=1), storage: Storage | None = None) -> list[str]:
    """Delete stored files no row refers to, older than `older_than`; return their names.

    Covers what `files_removed_on_error` cannot: a process killed between
    writing a file and committing its row, or a caller's transaction that
    rolled back after the row was written. Young files are spared, since
    their rows may not have committed yet.
    """
    storage = storage or default_storage
    cutoff = timezone.now() - older_than
    # Age first, from storage alone; then one query per chunk of old names, not one per file.
    old = [name for name in _stored_names(storage) if _modified_at(storage, name) <= cutoff]
    removed = []
    for start in range(0, len(old), SWEEP_CHUNK):
        chunk = old[start : start + SWEEP_CHUNK]
        referenced = _referenced(chunk)
        for name in chunk:
            if name not in referenced:
                storage.delete(name)
                removed.append(name)
    if removed:
        logger.warning("Removed %d stored files no row refers to.", len(removed))
    return removed


def _stored_names(storage: Storage) -> Iterator[str]:
    folders = [folder for folder in OWNED_FOLDERS if storage.exists(folder)]
    while folders:
        folder = folders.pop()
        subfolders, files = storage.listdir(folder)
        folders.extend(f"{folder}/{name}" for name in subfolders)
        yield from (f"{folder}/{name}" for name in files)


def _model_file(name: str) -> str:
    # A model file's served copy is stored beside it, named after it.
    return name.split(".keras", 1)[0] + ".keras"


def _referenced(names: list[str]) -> set[str]:
    """Return which of these stored names a submission or a model version refers to."""
    images = set(Submission.objects.filter(image__in=names).values_list("image", flat=True))
    model_files = {_model_file(name) for name in names if name.startswith("models/")}
    versions = ModelVersion.objects.filter(Q(artifact__in=model_files) | Q(detector__in=model_files))
    kept = {name for pair in versions.values_list("artifact", "detector") for name in pair if name}
    return images | {name for name in names if name.startswith("models/") and _model_file(name) in kept}


def _modified_at(storage: Storage, name: str) -> datetime:
    try:
        return storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        return timezone.now()
