"""Stored files that belong to rows: never left behind when their row is not stored."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from recognizer.models import ModelVersion, Submission

logger = logging.getLogger(__name__)

# Files under these folders belong to a row; anything else in storage is left alone.
OWNED_FOLDERS = ("submissions", "models")
SWEEP_CHUNK = 500


# The flags FileSystemStorage creates a file with: never over an existing one.
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def file_write(*, file: FieldFile, name: str, data: bytes) -> None:
    """Write `data` as the new file of `file` (unsaved): the field's upload path from `name`, written once.

    On a plain FileSystemStorage the file is created directly, which spares a
    prediction the storage's name search, lock and chunking (a tenth of a
    millisecond); the name, the bytes and the permissions are the same. On a
    name already taken, or any other storage, the storage writes it.
    """
    storage = file.storage
    # `__class__`, not type(): default_storage is a proxy of the configured storage.
    if storage.__class__ is not FileSystemStorage or storage.directory_permissions_mode is not None:
        file.save(name, ContentFile(data), save=False)
        return
    stored = file.field.generate_filename(file.instance, name)
    path = storage.path(stored)
    try:
        descriptor = _file_create(path)
    except FileExistsError:  # a random name taken: astronomically rare, and the storage picks another
        file.save(name, ContentFile(data), save=False)
        return
    try:
        _file_fill(descriptor, data, mode=storage.file_permissions_mode)
    except BaseException:
        os.unlink(path)  # never half a file under a name
        raise
    storage._ensure_location_group_id(path)  # as the storage does: the file takes the media folder's group
    file.name = stored
    setattr(file.instance, file.field.attname, stored)
    file._committed = True


def _file_fill(descriptor: int, data: bytes, *, mode: int | None) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        if mode is not None:  # FILE_UPLOAD_PERMISSIONS, 0o644 unless set otherwise
            os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)


def _file_create(path: str) -> int:
    try:
        return os.open(path, CREATE_FLAGS, 0o666)
    except FileNotFoundError:  # the day's folder does not exist yet
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, CREATE_FLAGS, 0o666)


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
