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
