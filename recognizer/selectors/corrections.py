"""Reads of corrections: what retraining may learn from and how much waits.

The classifier learns from digit corrections (a label 0-9); the detector
from "not a digit" corrections (a NULL label). Each reader picks its own.
"""

from __future__ import annotations

from django.db.models import QuerySet

from recognizer.models import Correction


def _accepted_digits() -> QuerySet[Correction]:
    return Correction.objects.filter(review_state=Correction.Review.ACCEPTED, label__isnull=False)


def corrections_for_training(*, exclude_trained: bool = False) -> QuerySet[Correction]:
    """Return accepted digit corrections with their submissions (and pixels), oldest first.

    "Not a digit" corrections are left out: they have no digit to teach the
    classifier (`corrections_not_a_digit` returns them).
    """
    queryset = _accepted_digits().select_related("submission")
    if exclude_trained:
        queryset = queryset.filter(trained_in__isnull=True)
    return queryset.order_by("id")


def corrections_not_a_digit(*, exclude_trained: bool = False) -> QuerySet[Correction]:
    """Return accepted "not a digit" corrections with their submissions (and pixels), oldest first.

    The detector's training data at the next retraining, as `corrections_for_training`
    is the classifier's; `held_out` on each says which ones only judge.
    """
    queryset = Correction.objects.filter(review_state=Correction.Review.ACCEPTED, label__isnull=True)
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
        accepted = accepted.filter(label__isnull=False)
    return accepted.filter(held_out=False, trained_in__isnull=True).count()


def corrections_split_counts() -> tuple[int, int]:
    """Return how many accepted digit corrections there are to train on and how many are held out."""
    accepted = _accepted_digits()
    held_out = accepted.filter(held_out=True).count()
    return accepted.count() - held_out, held_out


def corrections_review_backlog_count() -> int:
    """Count corrections waiting for an admin's review (served by the `correction_review_updated` index)."""
    return Correction.objects.filter(review_state=Correction.Review.PENDING).count()
