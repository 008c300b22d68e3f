"""Run the digit model: load a version once per process, predict batches fast.

TensorFlow is imported here lazily, on the first prediction, so management
commands and web processes that never predict stay light.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

# Batches are padded up to one of these sizes so the compiled function sees
# a handful of shapes and never recompiles on a new batch size.
BUCKETS = (1, 4, 16, 64, 256)
KEEP_LOADED = 2


@dataclass
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]


class LoadedModel:
    """One model version, compiled for inference with a fixed input signature."""

    def __init__(self, path: Path):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import tensorflow as tf

        from training.model import fuse_for_inference

        self.model = keras.models.load_model(path, compile=False)
        # Batch norm folded into the convolutions: same answers, fewer ops per call.
        self._fused = fuse_for_inference(self.model)
        self._forward = tf.function(
            lambda batch: self._fused(batch, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)],
            jit_compile=True,
            reduce_retracing=True,
        )
        self.predict_probabilities(np.zeros((1, 28, 28), np.uint8))  # compile now, not on a request

    def predict_probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Return (N, 10) probabilities for uint8 (N, 28, 28) inputs."""
        pixels = np.asarray(pixels).reshape(-1, 28, 28)
        count = len(pixels)
        outputs = []
        for start in range(0, count, BUCKETS[-1]):
            chunk = pixels[start : start + BUCKETS[-1]]
            size = next(b for b in BUCKETS if b >= len(chunk))
            batch = np.zeros((size, 28, 28, 1), np.float32)
            batch[: len(chunk), :, :, 0] = chunk
            outputs.append(self._forward(batch).numpy()[: len(chunk)])
        return np.concatenate(outputs) if outputs else np.zeros((0, 10), np.float32)


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
                loaded = LoadedModel(local_artifact_path(version))
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
    cache_dir = Path(settings.RECOGNIZER["MODEL_CACHE_DIR"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    tag = version.artifact_sha256[:16] or hashlib.sha256(version.artifact.name.encode()).hexdigest()[:16]
    target = cache_dir / f"v{version.number}-{tag}.keras"
    if not target.exists():
        partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        with version.artifact.open("rb") as source, open(partial, "wb") as sink:
            shutil.copyfileobj(source, sink)
        os.replace(partial, target)
    return target


engine = Engine()
