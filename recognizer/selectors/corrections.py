"""Reads of corrections: what retraining may learn from and how much waits.

The classifier learns from digit corrections (a label 0-9) and from the
digits of corrected numbers (`number`, one label per digit found); the
detector from "not a digit" corrections (a NULL label and no number). Each
reader picks its own.
"""

from __future__ import annotations

import numpy as np
from django.db.models import Prefetch, Q, QuerySet

from recognizer.models import Correction, SubmissionDigit
from training.preprocessing import bytes_to_pixels

# Corrections that label digits: one digit's label, or a number's.
LABELS_DIGITS = Q(label__isnull=False) | Q(number__isnull=False)


def _accepted_digits() -> QuerySet[Correction]:
    return Correction.objects.filter(LABELS_DIGITS, review_state=Correction.Review.ACCEPTED)


def correction_samples(*, correction: Correction) -> tuple[np.ndarray, np.ndarray]:
    """Return what one correction teaches the classifier: uint8 (N, 28, 28) inputs and their N labels.

    One input for a digit; for a number, each digit found with its label, `number[i]` for the digit at position i.
    """
    submission = correction.submission
    if correction.number is None:
        return bytes_to_pixels(submission.pixels)[None], np.array([correction.label])
    rows = sorted(submission.digit_rows, key=lambda row: row.position)
    pixels = np.stack([bytes_to_pixels(row.pixels) for row in rows])
    return pixels, np.array([label for _row, label in zip(rows, correction.digit_labels, strict=True)])


def corrections_for_training(*, exclude_trained: bool = False) -> QuerySet[Correction]:
    """Return accepted digit and number corrections with their submissions (and pixels, and digits), oldest first.

    "Not a digit" corrections are left out: they have no digit to teach the
    classifier (`corrections_not_a_digit` returns them). `correction_samples`
    turns each into inputs and labels.
    """
    digits = Prefetch("submission__digits", queryset=SubmissionDigit.objects.only("submission", "position", "pixels"))
    queryset = _accepted_digits().select_related("submission").prefetch_related(digits)
    if exclude_trained:
        queryset = queryset.filter(trained_in__isnull=True)
    return queryset.order_by("id")


def corrections_not_a_digit(*, exclude_trained: bool = False) -> QuerySet[Correction]:
    """Return accepted "not a digit" corrections with their submissions (and pixels), oldest first.

    The detector's training data at the next retraining, as `corrections_for_training`
    is the classifier's; `held_out` on each says which ones only judge.
    """
    queryset = Correction.objects.filter(
        review_state=Correction.Review.ACCEPTED, label__isnull=True, number__isnull=True
    )
    if exclude_trained:
        queryset = queryset.filter(trained_in__isnull=True)
    return queryset.select_related("submission").order_by("id")


def corrections_waiting_count(*, with_not_a_digit: bool = False) -> int:
    """Count accepted corrections no version has trained on yet, held-out ones excepted.

    Digit corrections always count. "Not a digit" ones count with `with_not_a_digit`: only when the
    active version has a detector to teach, since otherwise no retraining marks them trained, and they
    would start a retraining after every acceptance.
    """
    accepted = Correction.objects.filter(review_state=Correction.Review.ACCEPTED)
    if not with_not_a_digit:
        accepted = accepted.filter(LABELS_DIGITS)
    return accepted.filter(held_out=False, trained_in__isnull=True).count()


def corrections_split_counts() -> tuple[int, int]:
    """Return how many accepted digit (and number) corrections there are to train on and how many are held out."""
    accepted = _accepted_digits()
    held_out = accepted.filter(held_out=True).count()
    return accepted.count() - held_out, held_out


def corrections_review_backlog_count() -> int:
    """Count corrections waiting for an admin's review (served by the `correction_review_updated` index)."""
    return Correction.objects.filter(review_state=Correction.Review.PENDING).count()
