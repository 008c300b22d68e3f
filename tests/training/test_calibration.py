"""Temperature scaling and the expected calibration error, on answers whose calibration is known."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)


def answers_from(logits: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities from `logits`, and labels drawn from those very probabilities: calibrated by construction."""
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(len(row), p=row) for row in probabilities])
    return probabilities, labels


@pytest.fixture
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return answers_from(rng.normal(0, 2.5, size=(20000, 10)), rng)


def test_a_temperature_keeps_the_winner_and_sums_to_one(calibrated):
    probabilities, _labels = calibrated
    for temperature in (0.5, 1.0, 3.0):
        scaled = apply_temperature(probabilities, temperature)
        assert np.array_equal(scaled.argmax(1), probabilities.argmax(1))
        assert np.allclose(scaled.sum(1), 1.0, atol=1e-5)
    assert (apply_temperature(probabilities, 3.0).max(1) < probabilities.max(1) + 1e-6).all()


def test_calibrated_answers_have_a_small_error_and_a_temperature_near_one(calibrated):
    probabilities, labels = calibrated

    assert expected_calibration_error(probabilities, labels) < 0.015
    assert fit_temperature(probabilities, labels) == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("sharpened_by", [0.4, 2.5])
def test_the_fit_undoes_over_and_under_confidence(calibrated, sharpened_by):
    probabilities, labels = calibrated
    distorted = apply_temperature(probabilities, 1 / sharpened_by)  # overconfident when sharpened_by > 1

    temperature = fit_temperature(distorted, labels)

    assert temperature == pytest.approx(sharpened_by, rel=0.08)
    before = expected_calibration_error(distorted, labels)
    after = expected_calibration_error(apply_temperature(distorted, temperature), labels)
    assert after < before / 3


def test_reliability_bins_count_every_answer_once():
    probabilities = np.array([[0.95, 0.05], [0.55, 0.45], [0.5, 0.5], [0.0, 1.0]])
    labels = np.array([0, 1, 0, 1])

    rows = reliability_bins(probabilities, labels, bins=10)

    assert sum(row["count"] for row in rows) == 4
    assert rows[9] == {"low": 0.9, "high": 1.0, "count": 2, "confidence": pytest.approx(0.975), "accuracy": 1.0}
    assert rows[4]["count"] == 1 and rows[4]["accuracy"] == 1.0  # 0.5 exactly belongs to (0.4, 0.5]
    assert rows[5]["count"] == 1 and rows[5]["accuracy"] == 0.0


def test_no_answers_is_an_error():
    with pytest.raises(ValueError):
        expected_calibration_error(np.zeros((0, 10)), np.zeros(0))
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((0, 10)), np.zeros(0))
