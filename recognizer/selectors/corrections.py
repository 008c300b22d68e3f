"""Reads of corrections: what retraining may learn from and how much waits."""

from __future__ import annotations

from django.db.models import QuerySet

from recognizer.models import Correction


def corrections_for_training(*, exclude_trained: bool = False) -> QuerySet[Correction]:
    """Return accepted corrections with their submissions (and pixels), oldest first."""
    queryset = Correction.objects.filter(review_state=Correction.Review.ACCEPTED).select_related("submission")
    if exclude_trained:
        queryset = queryset.filter(trained_in__isnull=True)
    return queryset.order_by("id")


def corrections_waiting_count() -> int:
    """Count accepted corrections no version has trained on yet, held-out ones excepted."""
    return Correction.objects.filter(
        review_state=Correction.Review.ACCEPTED, held_out=False, trained_in__isnull=True
    ).count()


def corrections_split_counts() -> tuple[int, int]:
    """Return how many accepted corrections there are to train on and how many are held out."""
    accepted = Correction.objects.filter(review_state=Correction.Review.ACCEPTED)
    held_out = accepted.filter(held_out=True).count()
    return accepted.count() - held_out, held_out
