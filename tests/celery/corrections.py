"""Accepted corrections in a chosen style, made from the bundled MNIST sample."""

from __future__ import annotations

import numpy as np

from recognizer.models import Correction
from tests.factories import CorrectionFactory, SubmissionFactory
from training.data import load_sample
from training.preprocessing import pixels_to_bytes
from training.robustness import outlined


def styled(images: np.ndarray, style: str) -> np.ndarray:
    """Re-draw digits in a style: "outlined" (hollow strokes), "rotated" (a quarter turn) or "upright"."""
    if style == "outlined":
        return outlined(images)
    if style == "rotated":
        return np.ascontiguousarray(np.rot90(images, k=1, axes=(1, 2)))
    if style == "upright":
        return images
    raise ValueError(style)


def style_examples(style: str, count: int, *, split: str = "train", start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    data = load_sample()
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    return styled(x[start : start + count], style), y[start : start + count].astype(int)


def accepted_corrections(*, owner, count: int, style: str = "outlined", wrong_labels: bool = False) -> list[Correction]:
    """Store `count` submissions of `style` with accepted corrections (true labels unless `wrong_labels`)."""
    images, labels = style_examples(style, count)
    corrections = []
    for pixels, label in zip(images, labels, strict=True):
        label = (label + 1) % 10 if wrong_labels else int(label)
        submission = SubmissionFactory(owner=owner, pixels=pixels_to_bytes(pixels), is_corrected=True)
        corrections.append(
            CorrectionFactory(submission=submission, label=label, review_state=Correction.Review.ACCEPTED)
        )
    return corrections
