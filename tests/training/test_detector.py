"""The digit detector's pieces: weights, threshold, verdicts, and a short training run."""

from __future__ import annotations

import numpy as np
import pytest

from training.detector import (
    CLASSES,
    DetectorData,
    build_detector,
    class_weights,
    fit_threshold,
    train_detector,
    verdicts,
)


def test_class_weights_make_every_class_count_alike():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)

    weights = class_weights(labels)

    shares = {c: weights[c] * (labels == c).sum() for c in range(3)}
    assert shares[0] == pytest.approx(shares[1]) == pytest.approx(shares[2])


def test_the_threshold_flags_at_most_the_share_asked_for():
    probability = np.random.default_rng(0).beta(20, 1, size=10000)

    for share in (0.0, 0.005, 0.01, 0.05):
        threshold = fit_threshold(probability, max_flagged=share)
        assert (probability < threshold).mean() <= share
        assert (probability < threshold).mean() > share - 0.001  # and not far fewer


def test_verdicts_name_the_likelier_reason():
    probabilities = np.array([[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.2, 0.1, 0.7], [0.5, 0.2, 0.3]])

    is_digit, reasons = verdicts(probabilities, threshold=0.5)

    assert is_digit.tolist() == [True, False, False, True]
    assert reasons == [None, "not_a_digit", "several_digits", None]
    assert set(CLASSES) == {"digit", "not_a_digit", "several_digits"}


def test_the_detector_answers_three_probabilities_per_input():
    model = build_detector()

    out = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)

    assert out.shape == (2, 3)
    assert np.allclose(out.sum(1), 1.0, atol=1e-5)
    assert model.count_params() < 200_000


@pytest.mark.slow
def test_a_short_training_run_learns_an_easy_split():
    rng = np.random.default_rng(0)
    blobs = np.zeros((150, 28, 28), np.uint8)
    blobs[:, 10:18, 10:18] = 255  # a square in the middle
    bars = np.zeros((150, 28, 28), np.uint8)
    bars[:, 13:15, 2:26] = 255  # a long horizontal bar
    pairs = np.zeros((150, 28, 28), np.uint8)
    pairs[:, 10:18, 3:9] = pairs[:, 10:18, 19:25] = 255  # two blocks apart
    data = DetectorData(digits=blobs, not_digits=bars, several=pairs)

    # ~600 steps: batch norm's moving averages (momentum 0.99) need that many to settle.
    model = train_detector(data, epochs=20, batch_size=16, seed=int(rng.integers(1000)))

    images, labels = data.arrays()
    predicted = model.predict(images[..., None].astype("float32"), verbose=0).argmax(1)
    assert (predicted == labels).mean() > 0.9
