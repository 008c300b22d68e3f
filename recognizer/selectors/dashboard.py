"""Reads for the staff dashboard: activity, live accuracy, confusions, the review backlog."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from recognizer.models import Correction, Submission

# A correction counts as people's verdict unless an admin rejected it.
_COUNTED_CORRECTION = Q(is_corrected=True) & ~Q(correction__review_state=Correction.Review.REJECTED)
# The model's answer disagrees with the correction: a digit answer (checked or not) corrected to another
# digit or to "not a digit" (a NULL label; the negation keeps NULLs), or a "not a digit" answer given a digit.
_WRONG_DIGIT = (~Q(is_digit=False) & ~Q(correction__label=F("predicted_digit"))) | (
    Q(is_digit=False) & Q(correction__label__isnull=False)
)
# A number is wrong when its true number is not the one read, or some piece it read is not a digit at all.
_WRONG_NUMBER = ~Q(correction__number=F("number")) | ~Q(correction__not_digits=[])
_WRONG_ANSWER = (Q(kind=Submission.Kind.DIGIT) & _WRONG_DIGIT) | (Q(kind=Submission.Kind.NUMBER) & _WRONG_NUMBER)


def submission_daily_counts(*, since: datetime) -> list[dict]:
    """Return submissions and corrections per day (UTC) from `since` on, oldest first."""
    rows = (
        Submission.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Count("id"), corrected=Count("id", filter=Q(is_corrected=True)))
        .order_by("day")
    )
    return [{"day": row["day"], "total": row["total"], "corrected": row["corrected"]} for row in rows]


def model_version_live_accuracy() -> list[dict]:
    """Return, per model version, how often people found its predictions right.

    `accuracy` counts a prediction wrong when its owner's correction
    disagrees with its answer (another digit, or "not a digit" either way)
    and right otherwise; `feedback_accuracy` looks only at
    predictions people corrected or confirmed. Rejected corrections are ignored.
    """
    wrong = _COUNTED_CORRECTION & _WRONG_ANSWER
    rows = (
        Submission.objects.filter(status=Submission.Status.DONE, model_version__isnull=False)
        .values("model_version", "model_version__number", "model_version__state")
        .annotate(total=Count("id"), feedback=Count("id", filter=_COUNTED_CORRECTION), wrong=Count("id", filter=wrong))
        .order_by("model_version__number")
    )
    return [_live_accuracy_row(row) for row in rows]


def _live_accuracy_row(row: dict) -> dict:
    total, feedback, wrong = row["total"], row["feedback"], row["wrong"]
    return {
        "version_id": row["model_version"],
        "number": row["model_version__number"],
        "state": row["model_version__state"],
        "total": total,
        "feedback": feedback,
        "wrong": wrong,
        "accuracy": (total - wrong) / total if total else None,
        "feedback_accuracy": (feedback - wrong) / feedback if feedback else None,
    }


def correction_confused_pairs(*, limit: int = 10) -> list[dict]:
    """Return the (true digit, predicted digit) pairs people corrected most often; "not a digit" is no pair."""
    rows = (
        Correction.objects.exclude(review_state=Correction.Review.REJECTED)
        .filter(label__isnull=False, submission__predicted_digit__isnull=False)
        .exclude(label=F("submission__predicted_digit"))
        .values("label", "submission__predicted_digit")
        .annotate(count=Count("id"))
        .order_by("-count", "label", "submission__predicted_digit")[:limit]
    )
    return [
        {"true": row["label"], "predicted": row["submission__predicted_digit"], "count": row["count"]} for row in rows
    ]


def correction_backlog() -> dict:
    """Return the review backlog: corrections per review state and the oldest waiting one."""
    counts = dict(Correction.objects.values_list("review_state").annotate(n=Count("id")).order_by())
    oldest = (
        Correction.objects.filter(review_state=Correction.Review.PENDING)
        .order_by("updated_at")
        .values("updated_at")
        .first()
    )
    return {
        "pending": counts.get(Correction.Review.PENDING, 0),
        "accepted": counts.get(Correction.Review.ACCEPTED, 0),
        "rejected": counts.get(Correction.Review.REJECTED, 0),
        "accepted_untrained": Correction.objects.filter(
            review_state=Correction.Review.ACCEPTED, trained_in__isnull=True
        ).count(),
        "oldest_pending": oldest["updated_at"] if oldest else None,
    }
