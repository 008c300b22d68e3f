"""Run the digit model: load a version once per process, predict batches fast.

Each version is served as a LiteRT copy (see `training.serving`), exported
once, shared through storage beside the artifact, and cached on each machine. TensorFlow is
imported only to make that copy, so processes that find it cached, and
commands that never predict, stay light.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile

from recognizer import conf

KEEP_LOADED = 2
logger = logging.getLogger(__name__)


@dataclass
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]


class LoadedModel:
    """One model version, ready to answer: its served copy, and the Keras model on demand."""

    def __init__(self, path: Path, *, served: Path | None = None):
        from training.serving import ServingModel

        self.path = path
        threads = conf.inference_threads()
        copy = served or serving_copy(path)
        seen = copy.stat().st_mtime_ns
        try:
            self.serving = ServingModel(copy.read_bytes(), threads=threads)
        except (ValueError, RuntimeError):  # a damaged copy in the cache: make it again
            self.serving = ServingModel(serving_copy(path, replace_if_from=seen).read_bytes(), threads=threads)

    @cached_property
    def model(self):
        """The float Keras model the served copy was exported from (imports TensorFlow)."""
        from training.runtime import import_keras

        keras = import_keras()

        return keras.models.load_model(self.path, compile=False)

    def predict_probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Return (N, 10) probabilities for uint8 (N, 28, 28) inputs."""
        return self.serving.predict_probabilities(pixels)


class Engine:
    """Keeps the most recently used model versions loaded; safe under threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[int, str], LoadedModel] = {}

    def model_for(self, version) -> LoadedModel:
        key = (version.pk, version.artifact.name)
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        with self._lock:
            loaded = self._loaded.get(key)
            if loaded is None:
                loaded = LoadedModel(local_artifact_path(version), served=served_copy_for(version))
                self._loaded[key] = loaded
                while len(self._loaded) > KEEP_LOADED:
                    self._loaded.pop(next(iter(self._loaded)))
            return loaded

    def predict(self, *, version, pixels: np.ndarray) -> tuple[list[Prediction], float]:
        """Predict uint8 (N, 28, 28) inputs with `version`; return predictions and ms per image."""
        model = self.model_for(version)
        started = time.perf_counter()
        probabilities = model.predict_probabilities(pixels)
        elapsed_ms = (time.perf_counter() - started) * 1000 / max(1, len(probabilities))
        predictions = [
            Prediction(digit=int(row.argmax()), confidence=float(row.max()), probabilities=[float(p) for p in row])
            for row in probabilities
        ]
        return predictions, elapsed_ms

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()


def local_artifact_path(version) -> Path:
    """Return a local file holding the version's artifact, fetched from storage once.

    The artifact lives in Django's storage (shared by every machine); each
    process keeps a local copy keyed by version and content hash.
    """
    cache_dir = conf.model_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tag = version.artifact_sha256[:16] or hashlib.sha256(version.artifact.name.encode()).hexdigest()[:16]
    target = cache_dir / f"v{version.number}-{tag}.keras"
    if not target.exists():
        with version.artifact.open("rb") as source:
            _write_atomically(target, source)
    return target


def _served_path(keras_path: Path) -> Path:
    from training.serving import SERVING_FORMAT

    return keras_path.with_name(f"{keras_path.stem}.{SERVING_FORMAT}.tflite")


def _write_atomically(target: Path, source) -> None:
    """Write `source` (bytes or a binary file) to `target` so no reader ever sees part of it."""
    partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
    with open(partial, "wb") as sink:
        if isinstance(source, bytes):
            sink.write(source)
        else:
            shutil.copyfileobj(source, sink)
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(partial, target)


def served_copy_for(version) -> Path:
    """Return a local served copy of `version`: cached here, else fetched from storage, else exported and shared.

    The first machine to need a version's copy exports it (TensorFlow) and
    stores it beside the artifact; every other machine downloads it and
    never imports TensorFlow for it. Sharing is a convenience: if storing
    fails, each machine exports its own.
    """
    from training.serving import SERVING_FORMAT

    keras_path = local_artifact_path(version)
    target = _served_path(keras_path)
    if target.exists():
        return target
    storage, shared = version.artifact.storage, f"{version.artifact.name}.{SERVING_FORMAT}.tflite"
    if storage.exists(shared):
        with storage.open(shared, "rb") as source:
            _write_atomically(target, source)
        return target
    serving_copy(keras_path)
    try:
        if not storage.exists(shared):
            storage.save(shared, ContentFile(target.read_bytes()))
    except Exception:
        logger.warning("Could not share the served copy of %s through storage.", version, exc_info=True)
    return target


def serving_copy(path: Path, *, replace_if_from: int | None = None) -> Path:
    """Return the served copy of the Keras model at `path`, exporting it once per machine.

    Only the export imports TensorFlow; a process that finds the copy in the
    cache runs with the LiteRT interpreter alone. A lock file makes the other
    processes of the machine wait for one export instead of each running
    their own. `replace_if_from` (a modification time in ns) exports again
    over a copy that would not load, unless another process already has.
    """
    from training.serving import export_serving_model

    target = _served_path(path)
    if target.exists() and replace_if_from is None:
        return target
    with open(path.with_name(f"{target.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists() or target.stat().st_mtime_ns == replace_if_from:
            from training.runtime import import_keras

            keras = import_keras()

            _write_atomically(target, export_serving_model(keras.models.load_model(path, compile=False)))
    return target


engine = Engine()
