"""Is it a digit? A small CNN that reads a 28x28 input as one digit, not a digit, or several digits.

It sits beside the digit classifier and sees the same preprocessed input.
Trained on MNIST training digits and pen-drawn digits (the `digit` class),
on non-digits we generate ourselves (`training.outliers`: letters, symbols,
shapes, scribbles, noise, partial strokes, crops) and on several digits
side by side; never on a public set of non-digits, which stay honest checks.

A picture is a digit when the detector's `digit` probability reaches the
version's threshold, fitted so that a set share of held-out digits (MNIST
validation and drawn check digits) at most is flagged. Otherwise the reason
is whichever of `not_a_digit` and `several_digits` is likelier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from training.model import INPUT_SHAPE
from training.runtime import import_keras

CLASSES = ("digit", "not_a_digit", "several_digits")
DIGIT, NOT_A_DIGIT, SEVERAL_DIGITS = range(3)


def build_detector():
    """Return an uncompiled CNN mapping uint8-range 28x28 inputs to the three class probabilities.

    About 0.14 M parameters and 5 M multiply-adds: a tenth of the classifier's
    cost. Flatten, not global pooling, before the dense layer: where the ink
    sits and how wide it spreads is what tells two digits from one.
    """
    keras = import_keras()
    layers = keras.layers

    def block(x, filters: int, padding: str = "same"):
        x = layers.Conv2D(filters, 3, padding=padding, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=INPUT_SHAPE, name="pixels")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = block(block(x, 16), 16)
    x = layers.MaxPooling2D()(x)
    x = block(block(x, 32), 32)
    x = layers.MaxPooling2D()(x)
    x = block(x, 64, padding="valid")
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    outputs = layers.Dense(len(CLASSES), activation="softmax", name="verdict")(x)
    return keras.Model(inputs, outputs, name="digit_detector")


@dataclass(frozen=True)
class DetectorData:
    """Training inputs per class, uint8 (N, 28, 28)."""

    digits: np.ndarray
    not_digits: np.ndarray
    several: np.ndarray

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return all images and their class labels, in class order."""
        parts = (self.digits, self.not_digits, self.several)
        images = np.concatenate([np.asarray(part, np.uint8).reshape(-1, 28, 28) for part in parts])
        labels = np.concatenate([np.full(len(part), index, np.int64) for index, part in enumerate(parts)])
        return images, labels


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Weigh each class by the inverse of its share, so a small class counts as much as a large one."""
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(float)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return {index: float(weight) for index, weight in enumerate(weights)}


def train_detector(
    data: DetectorData,
    *,
    epochs: int = 6,
    batch_size: int = 128,
    seed: int = 1234,
    on_epoch: Callable[[int, dict], None] | None = None,
):
    """Train a new detector on `data` with light augmentation; return the Keras model."""
    from training.augment import augmented_batches

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    images, labels = data.arrays()
    batches = augmented_batches(images[..., None].astype("float32"), labels, batch_size=batch_size, seed=seed)
    model = build_detector()
    steps = epochs * int(np.ceil(len(labels) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=max(1, steps))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=on_epoch)] if on_epoch else []
    model.fit(batches, epochs=epochs, class_weight=class_weights(labels), verbose=0, callbacks=callbacks)
    return model


def fit_threshold(digit_probability: np.ndarray, *, max_flagged: float) -> float:
    """Return the lowest `digit` probability to accept, flagging at most `max_flagged` of these digits."""
    values = np.sort(np.asarray(digit_probability, np.float64))
    if not len(values):
        raise ValueError("Fitting a threshold needs at least one digit.")
    allowed = int(np.floor(max_flagged * len(values)))  # this many may fall below the threshold
    return float(values[allowed])


def verdicts(probabilities: np.ndarray, *, threshold: float) -> tuple[np.ndarray, list[str | None]]:
    """Return whether each input is a digit, and the reason for each one that is not."""
    probabilities = np.asarray(probabilities)
    is_digit = probabilities[:, DIGIT] >= threshold
    several = probabilities[:, SEVERAL_DIGITS] > probabilities[:, NOT_A_DIGIT]
    reasons = [
        None if ok else CLASSES[SEVERAL_DIGITS] if many else CLASSES[NOT_A_DIGIT]
        for ok, many in zip(is_digit, several, strict=True)
    ]
    return is_digit, reasons


def refine_detector(
    model_path,
    data: DetectorData,
    *,
    epochs: int = 2,
    batch_size: int = 64,
    learning_rate: float = 1e-4,
    seed: int = 1234,
):
    """Go on training the detector at `model_path` on `data` at a small learning rate; return the Keras model.

    `data` should hold what people said is not a digit beside a replay of
    digits, generated non-digits and several-digit rows, so the detector
    learns the new pictures without forgetting the old ones.
    """
    from training.augment import augmented_batches

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    model = keras.models.load_model(model_path, compile=False)
    images, labels = data.arrays()
    batches = augmented_batches(images[..., None].astype("float32"), labels, batch_size=batch_size, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    model.fit(batches, epochs=epochs, class_weight=class_weights(labels), verbose=0)
    return model
