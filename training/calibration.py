"""Confidence that means what it says: temperature scaling and the calibration error.

A model trained to near 100% on MNIST answers most pictures at 99.9%; a
temperature T divides its log-probabilities before the softmax, softening
(T > 1) or sharpening (T < 1) every answer without changing which digit wins.
T is fitted per model version on MNIST images it never trained on, on the
served copy's own outputs, by minimising the negative log-likelihood.

The expected calibration error (ECE) sorts answers into equal-width
confidence bins and averages |accuracy - confidence| over the bins, weighted
by how many answers each holds: 0.01 means a 90% answer is right 89-91% of
the time on average.
"""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15
# Temperatures outside this range mean the fit went wrong, not a real model.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
# Probabilities are clipped before the log, so a hard 0 gives a finite logit.
_FLOOR = 1e-12


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Return (N, K) probabilities softened (T > 1) or sharpened (T < 1) by `temperature`."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), _FLOOR, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Return the mean negative log-likelihood of the true labels at `temperature`."""
    scaled = apply_temperature(probabilities, temperature)
    chosen = scaled[np.arange(len(labels)), np.asarray(labels, int)]
    return float(-np.log(np.clip(chosen, _FLOOR, 1.0)).mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray, *, steps: int = 60) -> float:
    """Return the temperature that minimises the negative log-likelihood (golden-section search on log T)."""
    if len(labels) == 0:
        raise ValueError("Fitting a temperature needs at least one labelled answer.")
    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(probabilities, labels, math.exp(log_t))

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(steps):
        if loss_a <= loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return float(math.exp((low + high) / 2))


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> list[dict]:
    """Return, per equal-width confidence bin, how many answers fell in it, their mean confidence and accuracy."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels, int)
    # Bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        rows.append(
            {
                "low": b / bins,
                "high": (b + 1) / bins,
                "count": count,
                "confidence": float(confidence[members].mean()) if count else None,
                "accuracy": float(correct[members].mean()) if count else None,
            }
        )
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Return the ECE: |accuracy - confidence| averaged over confidence bins, weighted by their counts."""
    rows = reliability_bins(probabilities, labels, bins=bins)
    total = sum(row["count"] for row in rows)
    if not total:
        raise ValueError("The calibration error needs at least one answer.")
    return float(sum(row["count"] * abs(row["accuracy"] - row["confidence"]) for row in rows if row["count"]) / total)
