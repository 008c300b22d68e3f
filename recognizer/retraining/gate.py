"""The promotion gate: may a retrained model replace its parent?"""

from __future__ import annotations

# Measured accuracies are compared with this slack, so float noise is no drop.
EPSILON = 1e-9


def gate_check(
    metrics: dict,
    *,
    max_mnist_drop: float,
    max_holdout_drop: float,
    max_flagged: float = 1.0,
    max_ece_rise: float = 1.0,
    max_non_digit_drop: float = 1.0,
) -> tuple[bool, str]:
    """Apply the gate to fine-tuning metrics; return (passed, reason).

    The new model may lose at most `max_mnist_drop` of MNIST test accuracy
    and `max_holdout_drop` of held-out correction accuracy, both measured
    against its parent on the same images in the same run, and it must be
    better on one of the two: a retraining that learned nothing (wrong or
    contradictory labels, as often as not) is not promoted. With an
    `honesty` report, its detector may flag at most `max_flagged` of the
    MNIST test digits, it may flag at most `max_non_digit_drop` less of the
    generated non-digits than its parent's detector, and its calibration
    error may rise at most `max_ece_rise` above its parent's.
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
    if metrics.get("honesty"):
        failures.extend(
            _honesty_failures(metrics["honesty"], report, max_flagged=max_flagged, max_ece_rise=max_ece_rise)
        )
        failures.extend(_non_digit_failures(metrics["honesty"], report, max_drop=max_non_digit_drop))
    if failures:
        return False, "; ".join(failures) + "."
    return True, "; ".join(report) + "."


def _improved(metrics: dict, key: str) -> bool:
    return metrics[key]["accuracy"] > metrics["parent"][key]["accuracy"] + EPSILON


def _honesty_failures(honesty: dict, report: list[str], *, max_flagged: float, max_ece_rise: float) -> list[str]:
    """Check the detector's flagged share and the calibration error; add what was measured to `report`."""
    failures = []
    flagged = honesty.get("mnist_test_flagged")
    if flagged is not None:
        report.append(f"MNIST test digits flagged {flagged:.2%}")
        if flagged > max_flagged + EPSILON:
            failures.append(f"its detector flags {flagged:.2%} of MNIST test digits (at most {max_flagged:.2%})")
    ece, parent = honesty["ece"], honesty["parent_ece"]
    report.append(f"calibration error {parent:.2%} -> {ece:.2%}")
    if ece > parent + max_ece_rise + EPSILON:
        failures.append(f"calibration error {parent:.2%} -> {ece:.2%} (a rise of at most {max_ece_rise:.2%} allowed)")
    return failures


def _non_digit_failures(honesty: dict, report: list[str], *, max_drop: float) -> list[str]:
    """Check that the new detector flags non-digits about as often as its parent's did."""
    new, old = honesty.get("non_digits_flagged"), honesty.get("parent_non_digits_flagged")
    if new is None or old is None:
        return []
    text = f"non-digits flagged {old:.2%} -> {new:.2%}"
    report.append(text)
    if old - new > max_drop + EPSILON:
        return [f"{text}, a drop of {(old - new) * 100:.2f} points (at most {max_drop * 100:.2f} allowed)"]
    return []
