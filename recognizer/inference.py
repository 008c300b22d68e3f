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
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile

from recognizer import conf

KEEP_LOADED = 2
# Answers kept per model for inputs it scored while a number was read: the digits found are then predicted
# without running the model on them a second time. A served copy answers an input the same in any batch, bit for
# bit (tests/training/test_serving.py), so a kept answer is the answer. The next prediction takes what it
# needs and the rest is forgotten: reading the same picture again runs the model again.
REMEMBERED = 256
logger = logging.getLogger(__name__)


@dataclass
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]
    # The detector's verdict; None when the version has no detector.
    is_digit: bool | None = None
    reason: str | None = None


class LoadedModel:
    """One Keras model file, ready to answer: its served copy, and the Keras model on demand."""

    def __init__(self, path: Path, *, served: Path | None = None):
        from training.serving import ServingModel

        self.path = path
        self._remembered: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._remembered_lock = threading.Lock()
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

        return import_keras().models.load_model(self.path, compile=False)

    def predict_probabilities(self, pixels: np.ndarray, *, remember: bool = False) -> np.ndarray:
        """Return (N, classes) probabilities for uint8 (N, 28, 28) inputs.

        With `remember` the model runs on every input and keeps the answers (of the last REMEMBERED inputs);
        the next call without it takes the kept answers of its inputs instead of running the model on them
        again, and forgets the others.
        """
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8 or not (remember or self._remembered):
            return self.serving.predict_probabilities(pixels)
        pixels = pixels.reshape(-1, 28, 28)
        keys = [image.tobytes() for image in pixels]
        if remember:
            probabilities = self.serving.predict_probabilities(pixels)
            with self._remembered_lock:
                self._remembered.update(zip(keys, probabilities, strict=True))
                while len(self._remembered) > REMEMBERED:
                    self._remembered.popitem(last=False)
            return probabilities
        with self._remembered_lock:
            rows = [self._remembered.pop(key, None) for key in keys]
            # The rest were candidates not chosen: forget them, so a digit's prediction goes straight to the model.
            self._remembered.clear()
        missing = [index for index, row in enumerate(rows) if row is None]
        if missing:
            for index, row in zip(missing, self.serving.predict_probabilities(pixels[missing]), strict=True):
                rows[index] = row
        return np.stack(rows) if rows else self.serving.predict_probabilities(pixels)


class Engine:
    """Keeps the most recently used model versions (and their detectors) loaded; safe under threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[int, str], LoadedModel] = {}

    def _load(self, key: tuple[int, str], make) -> LoadedModel:
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        with self._lock:
            loaded = self._loaded.get(key)
            if loaded is None:
                loaded = make()
                self._loaded[key] = loaded
                while len(self._loaded) > KEEP_LOADED:
                    self._loaded.pop(next(iter(self._loaded)))
            return loaded

    def model_for(self, version) -> LoadedModel:
        """The version's digit classifier."""
        return self._load(
            (version.pk, version.artifact.name),
            lambda: LoadedModel(local_artifact_path(version), served=served_copy_for(version)),
        )

    def detector_for(self, version) -> LoadedModel | None:
        """The version's digit detector, or None if it has none or it cannot be loaded.

        A missing or broken detector costs the verdict, never the prediction: it is logged, and
        the answer comes without `is_digit`.
        """
        if not version.detector:
            return None
        try:
            return self._load(
                (version.pk, version.detector.name),
                lambda: LoadedModel(local_detector_path(version), served=served_detector_for(version)),
            )
        except Exception:
            logger.exception("The detector of %s could not be loaded; answering without a verdict.", version)
            return None

    def predict(self, *, version, pixels: np.ndarray) -> tuple[list[Prediction], float]:
        """Predict uint8 (N, 28, 28) inputs with `version`; return predictions and ms per image.

        Probabilities are calibrated with the version's temperature; the
        detector, if the version has one, says which inputs are digits.
        """
        from training.calibration import apply_temperature
        from training.detector import verdicts

        model, detector = self.model_for(version), self.detector_for(version)
        started = time.perf_counter()
        probabilities = model.predict_probabilities(pixels)
        if version.temperature:
            probabilities = apply_temperature(probabilities, version.temperature)
        checked = None
        if detector is not None and version.detector_threshold is not None:
            checked = verdicts(detector.predict_probabilities(pixels), threshold=version.detector_threshold)
        elapsed_ms = (time.perf_counter() - started) * 1000 / max(1, len(probabilities))
        predictions = []
        for index, row in enumerate(probabilities):
            prediction = Prediction(
                digit=int(row.argmax()), confidence=float(row.max()), probabilities=[float(p) for p in row]
            )
            if checked is not None:
                prediction.is_digit, prediction.reason = bool(checked[0][index]), checked[1][index]
            predictions.append(prediction)
        return predictions, elapsed_ms

    def digit_score(self, *, version):
        """How well each input reads as one digit, for `training.segmentation` to choose where digits are cut.

        The classifier's confidence times the detector's digit probability (the classifier's alone when the
        version has no detector): a function from uint8 (N, 28, 28) to (N,) scores in 0-1.
        """
        from training.detector import DIGIT

        model, detector = self.model_for(version), self.detector_for(version)

        def score(pixels: np.ndarray) -> np.ndarray:
            # Remembered: the digits segmentation settles on are predicted next, by `predict`.
            sure = model.predict_probabilities(pixels, remember=True).max(axis=1)
            if detector is None:
                return sure
            return sure * detector.predict_probabilities(pixels, remember=True)[:, DIGIT]

        return score

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()


def _local_copy(file, *, sha256: str, stem: str) -> Path:
    """Return a local file holding a stored model file, fetched from storage once per machine.

    Model files live in Django's storage (shared by every machine); each
    process keeps a local copy keyed by version and content hash.
    """
    cache_dir = conf.model_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tag = sha256[:16] or hashlib.sha256(file.name.encode()).hexdigest()[:16]
    target = cache_dir / f"{stem}-{tag}.keras"
    if not target.exists():
        with file.open("rb") as source:
            _write_atomically(target, source)
    return target


def local_artifact_path(version) -> Path:
    """Return a local copy of the version's classifier."""
    return _local_copy(version.artifact, sha256=version.artifact_sha256, stem=f"v{version.number}")


def local_detector_path(version) -> Path:
    """Return a local copy of the version's detector."""
    # Keyed by content alone: a retrained version keeps its parent's detector, and so shares its served copy.
    return _local_copy(version.detector, sha256=version.detector_sha256, stem="detector")


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


def _shared_served_copy(file, keras_path: Path, *, label: str) -> Path:
    """Return a local served copy of a stored model file: cached here, else fetched from storage, else exported.

    The first machine to need a copy exports it (TensorFlow) and stores it
    beside the model file; every other machine downloads it and never
    imports TensorFlow for it. Sharing is a convenience: if storing fails,
    each machine exports its own.
    """
    from training.serving import SERVING_FORMAT

    target = _served_path(keras_path)
    if target.exists():
        return target
    storage, shared = file.storage, f"{file.name}.{SERVING_FORMAT}.tflite"
    if storage.exists(shared):
        with storage.open(shared, "rb") as source:
            _write_atomically(target, source)
        return target
    serving_copy(keras_path)
    try:
        if not storage.exists(shared):
            storage.save(shared, ContentFile(target.read_bytes()))
    except Exception:
        logger.warning("Could not share the served copy of %s through storage.", label, exc_info=True)
    return target


def served_copy_for(version) -> Path:
    """Return a local served copy of the version's classifier."""
    return _shared_served_copy(version.artifact, local_artifact_path(version), label=str(version))


def served_copy_stored(version) -> bool:
    """Whether the version's file and its served copy are in storage, for any machine to load without TensorFlow."""
    from training.serving import SERVING_FORMAT

    storage, name = version.artifact.storage, version.artifact.name
    return storage.exists(name) and storage.exists(f"{name}.{SERVING_FORMAT}.tflite")


def served_detector_for(version) -> Path:
    """Return a local served copy of the version's detector."""
    return _shared_served_copy(version.detector, local_detector_path(version), label=f"{version}'s detector")


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
