"""Reads: every query the pages, the API, the admin and the tasks make."""

from __future__ import annotations

import time
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate

from recognizer.models import Correction, ModelVersion, RetrainJob, Submission


def model_version_active() -> ModelVersion:
    """Return the active model version; raise ModelVersion.DoesNotExist if none."""
    return ModelVersion.objects.get(state=ModelVersion.State.ACTIVE)


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("parent").order_by("-number")


def submission_list(
    *,
    user: AbstractBaseUser,
    predicted_digit: int | None = None,
    corrected: bool | None = None,
    source: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    owner_id: int | None = None,
) -> QuerySet[Submission]:
    """Return the submissions `user` may see, newest first, filtered.

    Staff see everyone's and may narrow to one owner; others see their own.
    """
    queryset = Submission.objects.select_related("correction", "model_version").defer("pixels")
    if user.is_staff:
        if owner_id is not None:
            queryset = queryset.filter(owner_id=owner_id)
    else:
        queryset = queryset.filter(owner=user)
    if predicted_digit is not None:
        queryset = queryset.filter(predicted_digit=predicted_digit)
    if corrected is not None:
        # `__in` because SQLite uses the (owner, is_corrected) index for `IN (1)` but not for
        # the bare `WHERE is_corrected` that `=True` becomes.
        queryset = queryset.filter(is_corrected__in=[corrected])
    if source:
        queryset = queryset.filter(source=source)
    if created_after:
        queryset = queryset.filter(created_at__gte=created_after)
    if created_before:
        queryset = queryset.filter(created_at__lt=created_before)
    return queryset.order_by("-created_at", "-id")


def submission_get(*, user: AbstractBaseUser, submission_id: int, for_update: bool = False) -> Submission:
    """Return one submission `user` owns; raise Submission.DoesNotExist otherwise.

    Someone else's submission is reported as missing, not forbidden, so ids
    reveal nothing. Staff may read any, but change only their own here.
    """
    queryset = Submission.objects.select_related("correction", "model_version")
    if not (user.is_staff and not for_update):
        queryset = queryset.filter(owner=user)
    return queryset.get(pk=submission_id)


def submission_wait(*, submission_id: int, timeout: float) -> Submission:
    """Poll until the submission is no longer pending or `timeout` seconds pass."""
    deadline = time.monotonic() + max(0.0, timeout)
    delay = 0.005
    while True:
        submission = Submission.objects.select_related("correction", "model_version").get(pk=submission_id)
        if submission.status != Submission.Status.PENDING or time.monotonic() >= deadline:
            return submission
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)


def submissions_wait(*, submission_ids: list[int], timeout: float) -> list[Submission]:
    """Poll until none of the submissions is pending or `timeout` seconds pass; keep the order of `submission_ids`."""
    deadline = time.monotonic() + max(0.0, timeout)
    pause = 0.005
    queryset = Submission.objects.select_related("correction", "model_version").filter(pk__in=submission_ids)
    while True:
        # `.all()`: a fresh query each time, not the first poll's cached rows.
        by_id = {submission.pk: submission for submission in queryset.all()}
        waiting = any(submission.status == Submission.Status.PENDING for submission in by_id.values())
        remaining = deadline - time.monotonic()
        if not waiting or remaining <= 0:
            return [by_id[pk] for pk in submission_ids if pk in by_id]
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.1)


def submission_stats(*, user: AbstractBaseUser) -> dict:
    """Return how often the model was right for `user`, overall and per digit.

    A prediction counts as wrong when the person corrected it to another digit.
    """
    # Quick with 100,000 submissions: the totals come from the (owner, digit) index
    # alone (only predicted, i.e. done, submissions have a digit), and only the
    # corrected rows, found through the (owner, corrected) index, join their correction.
    totals = (
        Submission.objects.filter(owner=user, predicted_digit__isnull=False)
        .values("predicted_digit")
        .annotate(n=Count("id"))
        .values_list("predicted_digit", "n")
    )
    corrected = (
        Submission.objects.filter(owner=user, is_corrected__in=[True])
        .order_by()
        .values_list("predicted_digit", "correction__label")
    )
    per_digit = {d: {"total": 0, "wrong": 0} for d in range(10)}
    for digit, count in totals:
        per_digit[digit]["total"] = count
    for digit, label in corrected:
        if digit is not None and label != digit:
            per_digit[digit]["wrong"] += 1
    total = sum(v["total"] for v in per_digit.values())
    wrong = sum(v["wrong"] for v in per_digit.values())
    return {
        "total": total,
        "right": total - wrong,
        "accuracy": (total - wrong) / total if total else None,
        "per_digit": [
            {
                "digit": d,
                "total": v["total"],
                "right": v["total"] - v["wrong"],
                "accuracy": (v["total"] - v["wrong"]) / v["total"] if v["total"] else None,
            }
            for d, v in per_digit.items()
        ],
    }


def corrections_for_training(*, exclude_trained: bool = False) -> QuerySet[Correction]:
    """Return accepted corrections with their pixels, oldest first."""
    queryset = Correction.objects.filter(review_state=Correction.Review.ACCEPTED).select_related("submission")
    if exclude_trained:
        queryset = queryset.filter(trained_in__isnull=True)
    return queryset.order_by("id")


def submissions_stale_pending(*, older_than: datetime) -> QuerySet[Submission]:
    return Submission.objects.filter(status=Submission.Status.PENDING, created_at__lt=older_than).order_by("id")


# The admin review queue and the staff dashboard.

# 0 for a correction still waiting for review, 1 for everything else.
# Corrections waiting for review first, then the least confident predictions; `submission_review_queue`
# is the index that serves this order.
REVIEW_ORDER = (F("needs_review").desc(), F("confidence").asc(nulls_last=True), F("created_at").desc())


def submission_review_queue() -> QuerySet[Submission]:
    """Return every submission with what the review queue shows, most worth a look first.

    First the corrections nobody reviewed yet, then the least confident
    predictions; one query fetches owner, model version and correction.
    """
    return Submission.objects.select_related("owner", "model_version", "correction").order_by(*REVIEW_ORDER, "-id")


def submission_pixels(*, submission_id: int) -> bytes:
    """Return the 784 stored input bytes of one submission; raise Submission.DoesNotExist."""
    return bytes(Submission.objects.values_list("pixels", flat=True).get(pk=submission_id))


def model_version_get(*, version_id: int) -> ModelVersion:
    return ModelVersion.objects.select_related("parent").get(pk=version_id)


def model_version_rollback_target() -> ModelVersion | None:
    """Return the version that served before the active one: the last retired one activated."""
    return (
        ModelVersion.objects.filter(state=ModelVersion.State.RETIRED, activated_at__isnull=False)
        .order_by("-activated_at", "-number")
        .first()
    )


def retrain_job_current() -> RetrainJob | None:
    """Return the queued or running retrain job, if there is one."""
    return RetrainJob.objects.filter(in_flight=True).select_related("requested_by").first()


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


# A correction counts as people's verdict unless an admin rejected it.
_COUNTED_CORRECTION = Q(is_corrected=True) & ~Q(correction__review_state=Correction.Review.REJECTED)


def model_version_live_accuracy() -> list[dict]:
    """Return, per model version, how often people found its predictions right.

    `accuracy` counts a prediction wrong when its owner corrected it to
    another digit and right otherwise; `feedback_accuracy` looks only at
    predictions people corrected or confirmed. Rejected corrections are ignored.
    """
    wrong = _COUNTED_CORRECTION & ~Q(correction__label=F("predicted_digit"))
    rows = (
        Submission.objects.filter(status=Submission.Status.DONE, model_version__isnull=False)
        .values("model_version", "model_version__number", "model_version__state")
        .annotate(total=Count("id"), feedback=Count("id", filter=_COUNTED_CORRECTION), wrong=Count("id", filter=wrong))
        .order_by("model_version__number")
    )
    return [
        {
            "version_id": row["model_version"],
            "number": row["model_version__number"],
            "state": row["model_version__state"],
            "total": row["total"],
            "feedback": row["feedback"],
            "wrong": row["wrong"],
            "accuracy": (row["total"] - row["wrong"]) / row["total"] if row["total"] else None,
            "feedback_accuracy": (row["feedback"] - row["wrong"]) / row["feedback"] if row["feedback"] else None,
        }
        for row in rows
    ]


def correction_confused_pairs(*, limit: int = 10) -> list[dict]:
    """Return the (true digit, predicted digit) pairs people corrected most often."""
    rows = (
        Correction.objects.exclude(review_state=Correction.Review.REJECTED)
        .filter(submission__predicted_digit__isnull=False)
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


def retrain_job_get(*, job_id: int) -> RetrainJob:
    """Return one retrain job with its result version; raise RetrainJob.DoesNotExist."""
    return RetrainJob.objects.select_related("requested_by", "result_version__parent").get(pk=job_id)
