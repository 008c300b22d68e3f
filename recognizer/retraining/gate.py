"""The promotion gate: may a retrained model replace its parent?"""

from __future__ import annotations

# Measured accuracies are compared with this slack, so float noise is no drop.
EPSILON = 1e-9


def gate_check(metrics: dict, *, max_mnist_drop: float, max_holdout_drop: float) -> tuple[bool, str]:
    """Apply the gate to fine-tuning metrics; return (passed, reason).

    The new model may lose at most `max_mnist_drop` of MNIST test accuracy
    and `max_holdout_drop` of held-out correction accuracy, both measured
    against its parent on the same images in the same run, and it must be
    better on one of the two: a retraining that learned nothing (wrong or
    contradictory labels, as often as not) is not promoted.
    """
    rules = (
        ("MNIST test accuracy", "mnist", max_mnist_drop),
        ("held-out correction accuracy", "holdout", max_holdout_drop),
    )
    failures, report = [], []
    for label, key, allowed in rules:
        new, old = metrics[key]["accuracy"], metrics["parent"][key]["accuracy"]
        if new is None or old is None:
            failures.append(f"no {label} to compare")
            continue
        text = f"{label} {old:.2%} -> {new:.2%}"
        report.append(text)
        if old - new > allowed + EPSILON:
            failures.append(f"{text}, a drop of {(old - new) * 100:.2f} points (at most {allowed * 100:.2f} allowed)")
    if not failures and not any(_improved(metrics, key) for _label, key, _allowed in rules):
        failures.append(f"not better than its parent on either measure ({'; '.join(report)})")
    if failures:
        return False, "; ".join(failures) + "."
    return True, "; ".join(report) + "."


def _improved(metrics: dict, key: str) -> bool:
    return metrics[key]["accuracy"] > metrics["parent"][key]["accuracy"] + EPSILON
