"""The promotion gate, a plain function."""

from __future__ import annotations

import pytest

from recognizer.retraining.gate import gate_check

SMALL_RETRAIN = {"RETRAIN_EPOCHS": 1, "RETRAIN_REPLAY_IMAGES": 300}


def gate_metrics(mnist: tuple[float, float], holdout: tuple[float, float]) -> dict:
    return {
        "mnist": {"accuracy": mnist[1]},
        "holdout": {"accuracy": holdout[1]},
        "parent": {"mnist": {"accuracy": mnist[0]}, "holdout": {"accuracy": holdout[0]}},
    }


@pytest.mark.parametrize(
    ("mnist", "holdout", "passed", "reason"),
    [
        ((0.9960, 0.9950), (0.60, 0.80), True, "MNIST test accuracy 99.60% -> 99.50%"),
        ((0.9960, 0.9949), (0.60, 0.80), False, "a drop of 0.11 points (at most 0.10 allowed)"),
        ((0.9960, 0.9970), (0.60, 0.55), False, "held-out correction accuracy 60.00% -> 55.00%, a drop of 5.00"),
        ((0.9960, 0.9955), (0.00, 0.00), False, "not better than its parent on either measure"),
        ((0.9960, 0.9961), (1.00, 1.00), True, "held-out correction accuracy 100.00% -> 100.00%"),
    ],
)
def test_gate_thresholds_and_reasons(mnist, holdout, passed, reason):
    verdict, text = gate_check(gate_metrics(mnist, holdout), max_mnist_drop=0.001, max_holdout_drop=0.0)

    assert verdict is passed
    assert reason in text


def honest_metrics(*, flagged: float | None, ece: float, parent_ece: float) -> dict:
    metrics = gate_metrics((0.9960, 0.9961), (0.60, 0.70))
    metrics["honesty"] = {"mnist_test_flagged": flagged, "ece": ece, "parent_ece": parent_ece}
    return metrics


@pytest.mark.parametrize(
    ("flagged", "ece", "passed", "reason"),
    [
        (0.004, 0.003, True, "MNIST test digits flagged 0.40%"),
        (0.012, 0.003, False, "its detector flags 1.20% of MNIST test digits (at most 1.00%)"),
        (None, 0.003, True, "calibration error 0.20% -> 0.30%"),
        (0.004, 0.009, False, "calibration error 0.20% -> 0.90% (a rise of at most 0.50% allowed)"),
    ],
)
def test_the_gate_limits_flagged_digits_and_the_calibration_error(flagged, ece, passed, reason):
    metrics = honest_metrics(flagged=flagged, ece=ece, parent_ece=0.002)

    verdict, text = gate_check(
        metrics, max_mnist_drop=0.001, max_holdout_drop=0.0, max_flagged=0.01, max_ece_rise=0.005
    )

    assert verdict is passed
    assert reason in text


@pytest.mark.parametrize(
    ("new", "old", "passed", "reason"),
    [
        (0.95, 0.96, True, "non-digits flagged 96.00% -> 95.00%"),
        (0.97, 0.96, True, "non-digits flagged 96.00% -> 97.00%"),
        (0.93, 0.96, False, "non-digits flagged 96.00% -> 93.00%, a drop of 3.00 points (at most 2.00 allowed)"),
        (None, 0.96, True, "calibration error"),
    ],
)
def test_the_gate_refuses_a_detector_that_flags_fewer_non_digits_than_its_parents(new, old, passed, reason):
    metrics = honest_metrics(flagged=0.004, ece=0.003, parent_ece=0.003)
    metrics["honesty"] |= {"non_digits_flagged": new, "parent_non_digits_flagged": old}

    verdict, text = gate_check(metrics, max_mnist_drop=0.001, max_holdout_drop=0.0, max_non_digit_drop=0.02)

    assert verdict is passed
    assert reason in text
