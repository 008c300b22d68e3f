"""Reads of corrections: what retraining may learn from and how much waits.

The classifier learns from digit corrections (a label 0-9) and from the
digits of corrected numbers (`number`, one label per digit found); the
detector from "not a digit" corrections (a NULL label and no number) and
from the pieces of numbers marked not a digit (`not_digits`). Pieces an
admin rejected one by one (`rejected_digits`) teach neither. Each reader
picks its own.
"""

from __future__ import annotations

import numpy as np
from django.db.models import Prefetch, Q, QuerySet

from recognizer.models import Correction, SubmissionDigit
from training.preprocessing import bytes_to_pixels

# Corrections that label digits: one digit's label, or a number's.
LABELS_DIGITS = Q(label__isnull=False) | Q(number__isnull=False)
# Corrections that say "not a digit": a digit's, or a number's with pieces marked so.
SAYS_NOT_A_DIGIT = Q(label__isnull=True, number__isnull=True) | (Q(number__isnull=False) & ~Q(not_digits=[]))


def _accepted_digits() -> QuerySet[Correction]:
    return Correction.objects.filter(LABELS_DIGITS, review_state=Correction.Review.ACCEPTED)


def _number_pieces(correction: Correction) -> list[tuple[np.ndarray, int | None]]:
    """A number's pieces an admin did not reject, left to right: each 28x28 input with its label (None: not a digit)."""
    rows = sorted(correction.submission.digit_rows, key=lambda row: row.position)
    rejected = set(correction.rejected_digits)
    return [
        (bytes_to_pixels(row.pixels), label)
        for row, label in zip(rows, correction.digit_labels, strict=True)
        if row.position not in rejected
    ]


def correction_samples(*, correction: Correction) -> tuple[np.ndarray, np.ndarray]:
    """Return what one correction teaches the classifier: uint8 (N, 28, 28) inputs and their N labels.

    One input for a digit; for a number, each piece found that is a digit, with its label (the digits of
    `number` in order), but not the pieces marked not a digit nor those an admin rejected.
    """
    if correction.number is None:
        return bytes_to_pixels(correction.submission.pixels)[None], np.array([correction.label])
    pieces = [(pixels, label) for pixels, label in _number_pieces(correction) if label is not None]
    if not pieces:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack([pixels for pixels, _label in pieces]), np.array([label for _pixels, label in pieces])


def correction_not_a_digit_samples(*, correction: Correction) -> np.ndarray:
    """Return what one correction teaches the detector as not a digit: uint8 (N, 28, 28) inputs.

    A digit's "not a digit" correction gives its input; a number gives the inputs of its pieces marked
    not a digit, those an admin rejected left out.
    """
    if correction.number is None:
        return bytes_to_pixels(correction.submission.pixels)[None]
    pieces = [pixels for pixels, label in _number_pieces(correction) if label is None]
    return np.stack(pieces) if pieces else np.zeros((0, 28, 28), np.uint8)


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
    """Return accepted corrections that say "not a digit", with their submissions (pixels, digits), oldest first.

    A digit's "not a digit", or a number's with pieces marked not a digit: the detector's training data at
    the next retraining, as `corrections_for_training` is the classifier's; `correction_not_a_digit_samples`
    turns each into inputs, and `held_out` on each says which ones only judge.
    """
    digits = Prefetch("submission__digits", queryset=SubmissionDigit.objects.only("submission", "position", "pixels"))
    queryset = Correction.objects.filter(SAYS_NOT_A_DIGIT, review_state=Correction.Review.ACCEPTED)
    if exclude_trained:
        queryset = queryset.filter(trained_in__isnull=True)
    return queryset.select_related("submission").prefetch_related(digits).order_by("id")


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
