"""The honesty report's arithmetic, on made-up scores whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import load_sample
from training.honesty import auroc, calibration_report, flagged_share


def test_auroc_of_separated_scores_is_one_and_of_equal_scores_a_half():
    assert auroc(np.array([0.9, 0.8]), np.array([0.1, 0.2, 0.3])) == 1.0
    assert auroc(np.array([0.1, 0.2]), np.array([0.8, 0.9])) == 0.0
    assert auroc(np.full(5, 0.5), np.full(7, 0.5)) == 0.5


def test_auroc_matches_counting_pairs():
    rng = np.random.default_rng(0)
    positives, negatives = rng.normal(1, 1, 200).round(1), rng.normal(0, 1, 300).round(1)

    pairs = (positives[:, None] > negatives[None, :]).mean() + 0.5 * (positives[:, None] == negatives[None, :]).mean()

    assert auroc(positives, negatives) == pytest.approx(pairs)


def test_the_flagged_share_counts_inputs_below_the_threshold():
    def detect(inputs: np.ndarray) -> np.ndarray:
        digit = np.linspace(0, 1, len(inputs))
        return np.stack([digit, 1 - digit, np.zeros(len(inputs))], axis=1)

    assert flagged_share(detect, np.zeros((100, 28, 28)), threshold=0.25) == pytest.approx(0.25)


def test_calibration_of_a_perfect_sure_classifier_has_no_error():
    data = load_sample()

    def classify(images: np.ndarray) -> np.ndarray:
        return (
            np.eye(10)[data.y_test[: len(images)]]
            if len(images) == len(data.x_test)
            else np.full((len(images), 10), 0.1)
        )

    report = calibration_report(classify, data, temperature=1.0)

    assert report["ece_before"] == pytest.approx(0.0, abs=1e-6)
    assert report["ece_after"] == pytest.approx(0.0, abs=1e-6)
