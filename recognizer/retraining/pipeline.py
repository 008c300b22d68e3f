"""From corrections to a fine-tuned model and its metrics, without the ORM.

The service hands in arrays and settings and gets back the model, its
metrics and a summary; progress goes out as plain events, which
`event_log_line` turns into the job's log lines.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TrainingData:
    """Corrections as model inputs: the ones to train on and the ones held out for the gate."""

    train_x: np.ndarray
    train_y: np.ndarray
    holdout_x: np.ndarray
    holdout_y: np.ndarray

    @property
    def counts(self) -> tuple[int, int]:
        return len(self.train_y), len(self.holdout_y)


def retrain_model(
    *,
    base_model_path: Path,
    data: TrainingData,
    epochs: int,
    replay_images: int,
    time_limit_seconds: float | None,
    mnist_dir: str | None,
    on_event: Callable[[dict], None] | None = None,
):
    """Fine-tune the model at `base_model_path` on `data`; return the FinetuneResult."""
    from training.finetune import FinetuneConfig, finetune

    config = FinetuneConfig(epochs=epochs, replay_images=replay_images, time_limit_seconds=time_limit_seconds)
    return finetune(
        base_model_path=base_model_path,
        train_x=data.train_x,
        train_y=data.train_y,
        holdout_x=data.holdout_x,
        holdout_y=data.holdout_y,
        config=config,
        data_dir=mnist_dir,
        on_event=on_event,
    )


def metrics_summary(metrics: dict) -> dict:
    """The accuracies the job's progress shows: new and parent, on MNIST and the held-out corrections."""

    def accuracy(part: dict) -> dict:
        return {"accuracy": part.get("accuracy"), "count": part.get("count")}

    return {
        "mnist": accuracy(metrics["mnist"]),
        "holdout": accuracy(metrics["holdout"]),
        "parent_mnist": accuracy(metrics["parent"]["mnist"]),
        "parent_holdout": accuracy(metrics["parent"]["holdout"]),
    }


def event_log_line(event: dict) -> tuple[str, str, dict]:
    """Turn a fine-tuning event into (log line, stage, progress)."""
    stage = event["stage"]
    if "loss" in event:
        message = f"Epoch {event['epoch']}/{event['epochs']}: loss {event['loss']:.4f}, acc {event['accuracy']:.4f}."
        progress = {"stage": stage, **{key: event[key] for key in ("epoch", "epochs", "loss", "accuracy")}}
        return message, stage, progress
    return event.get("message") or f"{stage[:1].upper()}{stage[1:]}.", stage, event


def honesty_measure(
    *,
    model,
    parent_model_path: Path,
    parent_temperature: float | None,
    detector_path: Path | None,
    detector_threshold: float | None,
    parent_detector_path: Path | None = None,
    parent_detector_threshold: float | None = None,
    mnist_dir: str | None,
) -> dict:
    """Calibrate the retrained model and measure what its honest answers will be, beside its parent's.

    The temperature is fitted on the MNIST validation images (the 5,000 that
    no training, first or fine-tune, ever used), on the served copy; the
    calibration error (15 bins) is measured on the MNIST test set for both
    models, each with its own temperature; the share of MNIST test digits the
    version's detector flags is what the gate limits (its threshold was
    fitted on other images).
    """
    from training.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability_bins
    from training.data import load_best_available
    from training.runtime import import_keras
    from training.serving import ServingModel
    from training.train import validation_indices

    data = load_best_available(mnist_dir)
    check = validation_indices(len(data.x_train))
    served = ServingModel.from_keras(model)
    parent = ServingModel.from_keras(import_keras().models.load_model(parent_model_path, compile=False))
    temperature = fit_temperature(served.predict_probabilities(data.x_train[check]), data.y_train[check])
    test = served.predict_probabilities(data.x_test)
    calibrated = apply_temperature(test, temperature)
    parent_test = apply_temperature(parent.predict_probabilities(data.x_test), parent_temperature or 1.0)
    report = {
        "temperature": temperature,
        "ece_uncalibrated": expected_calibration_error(test, data.y_test),
        "ece": expected_calibration_error(calibrated, data.y_test),
        "reliability": reliability_bins(calibrated, data.y_test),
        "parent_ece": expected_calibration_error(parent_test, data.y_test),
        "validation_images": int(len(check)),
        "mnist_test_flagged": None,
    }
    if detector_path is not None and detector_threshold is not None:
        report["mnist_test_flagged"] = flagged_share(detector_path, detector_threshold, data.x_test)
        if parent_detector_path is not None and parent_detector_threshold is not None:
            non_digits = non_digit_check_set()
            report["non_digits_flagged"] = flagged_share(detector_path, detector_threshold, non_digits)
            report["parent_non_digits_flagged"] = flagged_share(
                parent_detector_path, parent_detector_threshold, non_digits
            )
    return report


# Check-style non-digits (kinds of drawing no detector trained on), this many of each kind: enough to see a
# detector that forgot what a non-digit is, cheap enough for every retraining.
NON_DIGIT_CHECK_PER_KIND = 150


@functools.cache
def non_digit_check_set() -> np.ndarray:
    """Return generated non-digits in check styles (letters, symbols, shapes, ...) as model inputs, read-only.

    The set is the same every time (a fixed seed) and takes some 15 s to draw: a worker draws it once.
    """
    from training import outliers
    from training.honesty import CHECK_SEED, NON_DIGIT_KINDS

    inputs = np.concatenate(
        [
            outliers.outlier_inputs(kind, NON_DIGIT_CHECK_PER_KIND, CHECK_SEED, styles="check")
            for kind in NON_DIGIT_KINDS
        ]
    )
    inputs.setflags(write=False)
    return inputs


def flagged_share(detector_path: Path, threshold: float, inputs: np.ndarray) -> float:
    """Return the share of `inputs` a saved detector flags as not one digit at `threshold`."""
    from training.serving import ServingModel

    digit = ServingModel.from_keras_file(detector_path).predict_probabilities(inputs)[:, 0]
    return float((digit < threshold).mean())


# What the detector replays beside people's "not a digit" pictures, so it forgets nothing it knew: shares of
# the classifier's replay budget (RETRAIN_REPLAY_IMAGES; at its default of 6,000: 4,000, 2,000 and 1,000).
DETECTOR_REPLAY = {"digits": 2 / 3, "not_digits": 1 / 3, "several": 1 / 6}


def detector_refine(
    *,
    detector_path: Path,
    not_digits: np.ndarray,
    digits: np.ndarray,
    mnist_dir: str | None,
    max_flagged: float,
    replay_images: int,
    seed: int = 1234,
):
    """Teach the detector the pictures people said are not digits; return (model, threshold, report).

    Replayed beside them: digits (the accepted digit corrections and MNIST
    training images), generated non-digits and several-digit rows. The
    threshold is fitted again on the MNIST validation images (never trained
    on, nor replayed), so that at most `max_flagged` of those are flagged.
    """
    from training import outliers
    from training.data import load_best_available
    from training.detector import DIGIT, DetectorData, fit_threshold, refine_detector
    from training.finetune import FinetuneConfig, split_check_and_replay
    from training.serving import ServingModel
    from training.train import validation_indices

    data = load_best_available(mnist_dir)
    _check, replay = split_check_and_replay(data, FinetuneConfig(replay_images=replay_images))
    check = validation_indices(len(data.x_train))  # within the check images, so never in the replay
    rng = np.random.default_rng(seed)
    counts = {key: max(4, int(share * replay_images)) for key, share in DETECTOR_REPLAY.items()}
    mnist = data.x_train[rng.choice(replay, size=min(counts["digits"], len(replay)), replace=False)]
    generated = [
        outliers.outlier_inputs(kind, counts["not_digits"] // 4, outliers.TRAIN_SEED + 7, styles="train")
        for kind in ("letters", "symbols", "shapes", "scribbles")
    ]
    several = outliers.outlier_inputs(
        "several", counts["several"], outliers.TRAIN_SEED + 7, styles="train", mnist_train=data.x_train[replay]
    )
    classes = DetectorData(
        digits=np.concatenate([digits.reshape(-1, 28, 28), mnist]),
        not_digits=np.concatenate([not_digits.reshape(-1, 28, 28), *generated]),
        several=several,
    )
    model = refine_detector(detector_path, classes, seed=seed)
    served = ServingModel.from_keras(model)
    digit = served.predict_probabilities(data.x_train[check])[:, DIGIT]
    threshold = fit_threshold(digit, max_flagged=max_flagged)
    flagged = served.predict_probabilities(not_digits.reshape(-1, 28, 28))[:, DIGIT] < threshold
    report = {"not_digit_corrections": int(len(not_digits)), "corrections_flagged": float(flagged.mean())}
    return model, threshold, report
