"""The recognizer's settings, read at call time.

Every `RECOGNIZER_*` value lives in `settings.RECOGNIZER` (filled from the
environment in `digitsite/settings/base.py`). Code reads it only through
these functions, so a test that overrides a setting is seen at once and no
value is frozen at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings


def _get(name: str) -> Any:
    return settings.RECOGNIZER[name]


def has_broker() -> bool:
    """Whether a Celery broker is configured; without one, work runs in this process."""
    return not settings.CELERY_TASK_ALWAYS_EAGER


# Images and requests.
def max_upload_bytes() -> int:
    return int(_get("MAX_UPLOAD_BYTES"))


def max_pixels() -> int:
    return int(_get("MAX_PIXELS"))


def max_batch() -> int:
    return int(_get("MAX_BATCH"))


def max_batch_upload_bytes() -> int:
    return int(_get("MAX_BATCH_UPLOAD_BYTES"))


def default_wait_seconds() -> float:
    return float(_get("DEFAULT_WAIT_SECONDS"))


def max_wait_seconds() -> float:
    return float(_get("MAX_WAIT_SECONDS"))


def pending_sweep_after_seconds() -> float:
    return float(_get("PENDING_SWEEP_AFTER_SECONDS"))


# Models.
def initial_model_path() -> Path:
    return Path(_get("INITIAL_MODEL_PATH"))


def initial_detector_path() -> Path:
    return Path(_get("INITIAL_DETECTOR_PATH"))


def model_cache_dir() -> Path:
    return Path(_get("MODEL_CACHE_DIR"))


def mnist_dir() -> str | None:
    """The folder of the full MNIST set, or None to use the bundled sample."""
    return _get("MNIST_DIR") or None


def inference_threads() -> int | None:
    """Threads per inference call; None lets the engine choose."""
    return _get("INFERENCE_THREADS") or None


# Corrections and retraining.
def auto_accept_corrections() -> bool:
    return bool(_get("AUTO_ACCEPT_CORRECTIONS"))


def retrain_after_accepted() -> int:
    return int(_get("RETRAIN_AFTER_ACCEPTED"))


def retrain_epochs() -> int:
    return int(_get("RETRAIN_EPOCHS"))


def retrain_in_background() -> bool:
    return bool(_get("RETRAIN_IN_BACKGROUND"))


def retrain_replay_images() -> int:
    return int(_get("RETRAIN_REPLAY_IMAGES"))


def retrain_holdout_fraction() -> float:
    return float(_get("RETRAIN_HOLDOUT_FRACTION"))


def gate_max_mnist_drop() -> float:
    return float(_get("GATE_MAX_MNIST_DROP"))


def gate_max_holdout_drop() -> float:
    return float(_get("GATE_MAX_HOLDOUT_DROP"))


def gate_max_flagged() -> float:
    return float(_get("GATE_MAX_FLAGGED"))


def gate_max_non_digit_drop() -> float:
    return float(_get("GATE_MAX_NON_DIGIT_DROP"))


def gate_max_ece_rise() -> float:
    return float(_get("GATE_MAX_ECE_RISE"))


def wake_url() -> str | None:
    """The Redis that wakes requests waiting for a worker's prediction: the broker's, if it is Redis."""
    url = settings.CELERY_BROKER_URL if has_broker() else ""
    return url if url.startswith(("redis://", "rediss://")) else None
