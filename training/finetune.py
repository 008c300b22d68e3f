"""Fine-tune a trained digit model on people's corrections without forgetting MNIST.

    result = finetune(base_model_path=..., train_x=..., train_y=..., holdout_x=..., holdout_y=...)

Reads top to bottom: the replay sample of MNIST training images (so the model
keeps what it knew), the corrections repeated until they carry a fair share of
each epoch, augmentation on both, a few epochs at a small, decaying learning
rate with batch-norm statistics frozen; then the new weights blended with the
base's (WiSE-FT), keeping as much of the change as a check set of MNIST
training images outside the replay sample allows; then the base model and the
new one measured side by side on the MNIST test set and on held-out
corrections that neither trained on. The caller decides what to do with the numbers (the gate
lives in recognizer/services.py). No Django here; TensorFlow is imported lazily.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.data import Dataset, load_best_available
from training.runtime import import_keras


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 3
    replay_images: int = 6000
    batch_size: int = 64
    # Small on purpose: the gate allows 0.1 point of MNIST accuracy lost; at
    # 1e-4 a new style of strokes already costs ~0.4 point, at 3e-5 ~0.05.
    learning_rate: float = 3e-5
    seed: int = 1234
    # Corrections are repeated until they make up at least this share of an epoch.
    min_correction_share: float = 0.25
    max_correction_repeats: int = 20
    augment_strength: float = 1.0
    # Blending: the share of the change kept is the largest of `blend_steps` whose accuracy on the check set
    # (MNIST training images held out of the replay sample) is at most `max_check_drop` below the base's.
    # Half the gate's MNIST allowance, because the check images were in the base's training set and show
    # forgetting less than the test set does.
    blend_steps: tuple[float, ...] = (1.0, 0.75, 0.5, 0.375, 0.25)
    max_check_drop: float = 0.0005
    check_images: int = 10000
    # Stop with TimeoutError past this many seconds (None: no limit), so a retraining outside Celery's own
    # time limit still ends.
    time_limit_seconds: float | None = None


@dataclass
class FinetuneResult:
    """The fine-tuned Keras model and what was measured, JSON-ready."""

    model: object
    metrics: dict
    counts: dict
    history: list[dict] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


def split_check_and_replay(data: Dataset, config: FinetuneConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return indices of MNIST training images: the check set, then the replay sample, never overlapping.

    The check set is up to `config.check_images`, at most a fifth of the
    training images; the replay sample is up to `config.replay_images` of
    the rest. Both are fixed by the seed.
    """
    total = len(data.x_train)
    order = np.random.default_rng(config.seed).permutation(total)
    check_count = min(config.check_images, total // 5)
    replay_count = min(config.replay_images, total - check_count)
    return np.sort(order[:check_count]), np.sort(order[check_count : check_count + replay_count])


def keeps_check_accuracy(base: float, accuracy: float, *, max_drop: float) -> bool:
    """Whether `accuracy` on the check images is at most `max_drop` below the base's."""
    return base - accuracy <= max_drop + 1e-9  # accuracies are counts over the same images


def choose_blend(accuracy_at: Callable[[float], float], config: FinetuneConfig) -> dict:
    """Return the largest share of the change to keep, with the check accuracies that chose it.

    `accuracy_at(share)` measures the blend (0: the base model, 1: the
    fine-tuned one). When no step keeps the check accuracy, the whole change
    is kept and the gate judges it as it is.
    """
    base = accuracy_at(0.0)
    tried = []
    for share in sorted(config.blend_steps, reverse=True):
        accuracy = accuracy_at(share)
        tried.append({"share": share, "accuracy": accuracy})
        if keeps_check_accuracy(base, accuracy, max_drop=config.max_check_drop):
            return {"share": share, "base_accuracy": base, "tried": tried}
    return {"share": 1.0, "base_accuracy": base, "tried": tried, "note": "no step kept the check accuracy"}


def blend_with_base(model, base_weights: list, accuracy_of: Callable[[object], float], config: FinetuneConfig) -> dict:
    """Mix `model`'s fine-tuned weights with `base_weights` as `choose_blend` decides; leave `model` so mixed.

    `accuracy_of(model)` measures the model as its weights are now.
    """
    tuned_weights = model.get_weights()

    def set_share(share: float) -> None:
        model.set_weights([(1 - share) * b + share * t for b, t in zip(base_weights, tuned_weights, strict=True)])

    def accuracy_at(share: float) -> float:
        set_share(share)
        return accuracy_of(model)

    blend = choose_blend(accuracy_at, config)
    set_share(blend["share"])
    return blend


class Deadline:
    """Raise TimeoutError from `check()` once `limit` seconds have passed since `started` (None: never)."""

    def __init__(self, limit: float | None, *, started: float, clock: Callable[[], float] = time.perf_counter):
        self.limit, self.started, self.clock = limit, started, clock

    def check(self) -> None:
        if self.limit is not None and self.clock() - self.started > self.limit:
            raise TimeoutError(f"Retraining stopped: it ran over its time limit of {self.limit:.0f} s.")


def stop_at(check: Callable[[], None]):
    """Return a Keras callback that calls `check` after every batch, so a TimeoutError ends `fit` mid-epoch."""
    keras = import_keras()

    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            check()

    return StopAt()


def correction_repeats(corrections: int, replay: int, config: FinetuneConfig) -> int:
    """How many times each correction appears per epoch so it is not drowned by the replay set."""
    if corrections == 0:
        return 0
    share = config.min_correction_share
    wanted = share * replay / max(1e-9, 1.0 - share)
    return int(min(config.max_correction_repeats, max(1, math.ceil(wanted / corrections))))


def _as_images(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint8).reshape(-1, 28, 28)


def _as_labels(y) -> np.ndarray:
    return np.asarray(y, dtype=np.int64).reshape(-1)


@dataclass(frozen=True)
class _TrainingSet:
    """The images one fine-tuning learns from (`x`, `y`) and checks the blend on, with their counts."""

    x: np.ndarray
    y: np.ndarray
    check_x: np.ndarray
    check_y: np.ndarray
    counts: dict


def _training_set(data: Dataset, train_x, train_y, holdout_x, config: FinetuneConfig) -> _TrainingSet:
    """Mix the MNIST replay sample with the corrections, repeated; set the check images aside."""
    check_indices, replay_indices = split_check_and_replay(data, config)
    check_x, check_y = data.x_train[check_indices], data.y_train[check_indices]
    replay_x, replay_y = data.x_train[replay_indices], data.y_train[replay_indices]
    repeats = correction_repeats(len(train_x), len(replay_x), config)
    x = np.concatenate([replay_x, np.repeat(train_x, repeats, axis=0)])
    y = np.concatenate([replay_y.astype(np.int64), np.repeat(train_y, repeats, axis=0)])
    if len(x) == 0:
        raise ValueError("Nothing to train on: no corrections and no replay images.")
    counts = {
        "corrections": int(len(train_x)),
        "correction_repeats": repeats,
        "replay_images": int(len(replay_x)),
        "check_images": int(len(check_x)),
        "images_per_epoch": int(len(x)),
        "epochs": config.epochs,
        "holdout_corrections": int(len(holdout_x)),
        "mnist_test_images": int(len(data.x_test)),
        "data_source": data.source,
    }
    return _TrainingSet(x=x, y=y, check_x=check_x, check_y=check_y, counts=counts)


def _measure(model, data: Dataset, holdout_x: np.ndarray, holdout_y: np.ndarray) -> dict:
    """Measure the copy of `model` the service would run on the MNIST test set and the held-out corrections.

    The gate compares served copies, not the float models.
    """
    from training.evaluate import evaluate_model
    from training.serving import ServingModel

    served = ServingModel.from_keras(model)
    return {
        "mnist": evaluate_model(served, data.x_test, data.y_test),
        "holdout": evaluate_model(served, holdout_x, holdout_y),
    }


def _progress(history: list[dict], emit: Callable[[dict], None], epochs: int):
    """Return a Keras callback that appends each epoch's loss and accuracy to `history` and emits them."""
    keras = import_keras()

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            row = {
                "epoch": epoch + 1,
                "loss": round(float(logs.get("loss", float("nan"))), 5),
                "accuracy": round(float(logs.get("accuracy", float("nan"))), 5),
            }
            history.append(row)
            emit({"stage": "fine-tuning", "epochs": epochs, **row})

    return Progress()


def _fine_tuned(
    base_model_path: str | os.PathLike,
    training: _TrainingSet,
    config: FinetuneConfig,
    *,
    emit: Callable[[dict], None],
    check_time: Callable[[], None],
) -> tuple[object, list[dict]]:
    """Load the base model and train it on the training set; return it with one row of history per epoch.

    Batch norm stays frozen, so its statistics remain those of 60,000 images
    instead of a small new set's; the learning rate decays over the run.
    """
    from training.augment import augmented_batches

    keras = import_keras()

    model = keras.models.load_model(base_model_path, compile=False)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    steps = max(1, math.ceil(len(training.x) / config.batch_size)) * max(1, config.epochs)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    batches = augmented_batches(
        training.x, training.y, batch_size=config.batch_size, seed=config.seed, strength=config.augment_strength
    )
    history: list[dict] = []
    if config.epochs > 0:
        callbacks = [_progress(history, emit, config.epochs), stop_at(check_time)]
        model.fit(batches, epochs=config.epochs, verbose=0, shuffle=False, callbacks=callbacks)
    return model, history


def _blend(model, base_keras, training: _TrainingSet, config: FinetuneConfig, emit: Callable[[dict], None]) -> dict:
    """Blend `model` with the base as far as the check images allow (`blend_with_base`); return the blend."""
    from training.evaluate import evaluate_model

    check_x, check_y = training.check_x, training.check_y
    if not len(check_x) or config.epochs <= 0:
        return {"share": 1.0, "note": "no check images"}
    emit({"stage": "blending with the base model", "check_images": int(len(check_x))})
    blend = blend_with_base(
        model,
        base_keras.get_weights(),
        lambda blended: evaluate_model(blended, check_x, check_y)["accuracy"],
        config,
    )
    blend["check_images"] = int(len(check_x))
    kept = f"kept {blend['share']:.1%} of the fine-tuning's change"
    emit({"stage": "blended", "share": blend["share"], "message": f"Blended with the base model: {kept}."})
    return blend


@contextmanager
def _timed(seconds: dict[str, float], key: str, *, since: float | None = None) -> Iterator[None]:
    """Record in `seconds[key]` how long the block took (from `since`, if given)."""
    mark = time.perf_counter() if since is None else since
    yield
    seconds[key] = time.perf_counter() - mark


def finetune(
    *,
    base_model_path: str | os.PathLike,
    train_x,
    train_y,
    holdout_x,
    holdout_y,
    config: FinetuneConfig | None = None,
    data: Dataset | None = None,
    data_dir: str | os.PathLike | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> FinetuneResult:
    """Fine-tune the model at `base_model_path` on (train_x, train_y) plus an MNIST replay sample.

    `data` (or `data_dir`, else $MNIST_DIR, else the bundled sample) supplies
    the replay images and the test set. `on_event` receives small dicts as
    work goes on: {"stage": ...} and, per epoch, {"stage": "fine-tuning",
    "epoch", "epochs", "loss", "accuracy"}.
    """
    config = config or FinetuneConfig()
    emit = on_event or (lambda _: None)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    check_time = Deadline(config.time_limit_seconds, started=started).check

    emit({"stage": "loading data"})
    with _timed(seconds, "data", since=started):
        train_x, train_y = _as_images(train_x), _as_labels(train_y)
        holdout_x, holdout_y = _as_images(holdout_x), _as_labels(holdout_y)
        if len(train_x) != len(train_y) or len(holdout_x) != len(holdout_y):
            raise ValueError("Images and labels differ in length.")
        if data is None:
            data = load_best_available(data_dir)
        training = _training_set(data, train_x, train_y, holdout_x, config)

    keras = import_keras()
    keras.utils.set_random_seed(config.seed)
    check_time()
    emit({"stage": "evaluating base model"})
    with _timed(seconds, "evaluate_base"):
        base_keras = keras.models.load_model(base_model_path, compile=False)
        parent_metrics = _measure(base_keras, data, holdout_x, holdout_y)

    emit({"stage": "fine-tuning", "epoch": 0, "epochs": config.epochs})
    with _timed(seconds, "fine_tune"):
        model, history = _fine_tuned(base_model_path, training, config, emit=emit, check_time=check_time)

    with _timed(seconds, "blend"):
        blend = _blend(model, base_keras, training, config, emit)
    counts = {**training.counts, "blend_share": blend["share"]}

    check_time()
    emit({"stage": "evaluating new model"})
    with _timed(seconds, "evaluate_new"):
        new_metrics = _measure(model, data, holdout_x, holdout_y)
    metrics = {**new_metrics, "parent": parent_metrics, "blend": blend}
    seconds["total"] = time.perf_counter() - started
    return FinetuneResult(model=model, metrics=metrics, counts=counts, history=history, seconds=seconds)


def save_model(model, path: str | os.PathLike) -> Path:
    """Write the model as a .keras file for serving."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path
