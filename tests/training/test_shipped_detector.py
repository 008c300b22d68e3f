"""The shipped detector, on pictures it never trained on: letters, shapes, several digits, and clear digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.conf import settings

from training import outliers
from training.data import load_sample
from training.detector import DIGIT, verdicts
from training.drawn_digits import drawn_inputs


@pytest.fixture(scope="module")
def shipped():
    """The shipped detector as the service runs it, its float model, and its threshold."""
    from training.runtime import import_keras
    from training.serving import ServingModel

    path = settings.RECOGNIZER["INITIAL_DETECTOR_PATH"]
    model = import_keras().models.load_model(path, compile=False)
    threshold = json.loads(path.with_suffix(".metrics.json").read_text())["threshold"]
    return ServingModel.from_keras(model), model, threshold


def flagged(shipped, inputs: np.ndarray) -> np.ndarray:
    served, _model, threshold = shipped
    is_digit, _reasons = verdicts(served.predict_probabilities(inputs), threshold=threshold)
    return ~is_digit


def test_clear_digits_are_digits(shipped):
    sevens = drawn_inputs(400, seed=7)
    sample = load_sample()

    assert flagged(shipped, sevens[0][sevens[1] == 7]).sum() == 0  # pen-drawn 7s, barred or not
    assert flagged(shipped, sample.x_test).mean() <= 0.015  # MNIST test digits (bundled sample)


@pytest.mark.parametrize(("kind", "at_least"), [("letters", 0.85), ("shapes", 0.6), ("scribbles", 0.75)])
def test_drawn_non_digits_it_never_saw_are_flagged(shipped, kind, at_least):
    inputs = outliers.outlier_inputs(kind, 200, 0, styles="check")

    assert flagged(shipped, inputs).mean() >= at_least


def test_several_digits_in_digit_mode_are_said_to_be_several(shipped):
    served, _model, threshold = shipped
    sample = load_sample()
    rows = outliers.outlier_inputs("several", 200, 0, styles="check", mnist_train=sample.x_train)

    _is_digit, reasons = verdicts(served.predict_probabilities(rows), threshold=threshold)

    assert np.mean([reason == "several_digits" for reason in reasons]) >= 0.95


def test_the_served_copy_and_the_float_model_agree_on_is_digit(shipped):
    served, model, threshold = shipped
    sample = load_sample().x_test

    float_digit = model.predict(sample[..., None].astype("float32"), verbose=0)[:, DIGIT] >= threshold
    served_digit = served.predict_probabilities(sample)[:, DIGIT] >= threshold

    assert (float_digit == served_digit).mean() >= 0.995
