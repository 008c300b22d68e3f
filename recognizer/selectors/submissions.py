"""Reads of submissions: lists, one row, waiting for predictions, statistics."""

from __future__ import annotations

import time
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Prefetch, QuerySet, prefetch_related_objects

from recognizer import wake
from recognizer.models import Submission, SubmissionDigit

# Corrections waiting for review first, then the least confident predictions;
# the `submission_review_queue` index serves this order.
# A number's digits as the pages and the API show them: everything but their 28x28 inputs.
DIGITS = Prefetch("digits", queryset=SubmissionDigit.objects.defer("pixels").order_by("position"))
REVIEW_ORDER = (F("needs_review").desc(), F("confidence").asc(nulls_last=True), F("created_at").desc())


def submission_list(
    *,
    user: AbstractBaseUser,
    predicted_digit: int | None = None,
    corrected: bool | None = None,
    is_digit: bool | None = None,
    source: str | None = None,
    kind: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    owner_id: int | None = None,
) -> QuerySet[Submission]:
    """Return the submissions `user` may see, newest first, filtered.

    Staff see everyone's and may narrow to one owner; others see their own.
    `is_digit` matches the detector's verdict exactly: submissions nobody
    checked (no detector, or not predicted yet) match neither True nor False.
    """
    queryset = Submission.objects.select_related("correction", "model_version").defer("pixels")
    queryset = queryset.prefetch_related(DIGITS)
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
    if is_digit is not None:
        # `__in` for the (owner, is_digit) index, as for `corrected`.
        queryset = queryset.filter(is_digit__in=[is_digit])
    if source:
        queryset = queryset.filter(source=source)
    if kind:
        queryset = queryset.filter(kind=kind)
    if created_after:
        queryset = queryset.filter(created_at__gte=created_after)
    if created_before:
        queryset = queryset.filter(created_at__lt=created_before)
    return queryset.order_by("-created_at", "-id")


def submission_get(*, user: AbstractBaseUser, submission_id: int, for_change: bool = False) -> Submission:
    """Return one submission `user` may read (or, with `for_change`, change); raise Submission.DoesNotExist.

    Someone else's submission is reported as missing, not forbidden, so ids
    reveal nothing. Staff may read any, but change only their own here.
    """
    queryset = Submission.objects.select_related("correction", "model_version").prefetch_related(DIGITS)
    if for_change or not user.is_staff:
        queryset = queryset.filter(owner=user)
    return queryset.get(pk=submission_id)


def submissions_wait(*, submission_ids: list[int], timeout: float) -> list[Submission]:
    """Wait until none of the submissions is pending or `timeout` seconds pass; keep the order of `submission_ids`.

    With a Redis broker the wait blocks on the predicting process's word
    (recognizer/wake.py) and reads the rows once more; otherwise, or if that
    word is missing, it polls the database.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    queryset = Submission.objects.select_related("correction", "model_version").filter(pk__in=submission_ids)

    def read() -> tuple[list[Submission], bool]:
        # `.all()`: a fresh query each time, not the first read's cached rows.
        by_id = {submission.pk: submission for submission in queryset.all()}
        found = [by_id[pk] for pk in submission_ids if pk in by_id]
        return found, any(submission.status == Submission.Status.PENDING for submission in found)

    found, waiting = read()
    if not waiting or time.monotonic() >= deadline:
        return _with_digits(found)
    pending = [submission.pk for submission in found if submission.status == Submission.Status.PENDING]
    if wake.predictions_await(submission_ids=pending, timeout=deadline - time.monotonic()) is not None:
        found, waiting = read()
    pause = 0.005
    while waiting and time.monotonic() < deadline:
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.1)
        found, waiting = read()
    return _with_digits(found)


def _with_digits(submissions: list[Submission]) -> list[Submission]:
    """Read the digits of the numbers among `submissions` in one query (none when there is no number)."""
    prefetch_related_objects([s for s in submissions if s.is_number], DIGITS)
    return submissions


def submission_wait(*, submission_id: int, timeout: float) -> Submission:
    """Wait until the submission is no longer pending or `timeout` seconds pass; raise Submission.DoesNotExist."""
    found = submissions_wait(submission_ids=[submission_id], timeout=timeout)
    if not found:
        raise Submission.DoesNotExist(f"Submission {submission_id} does not exist.")
    return found[0]


def submission_stats(*, user: AbstractBaseUser) -> dict:
    """Return how often the model was right for `user`, overall and per predicted digit.

    A prediction counts as wrong when the person's correction disagrees with
    the model's answer: a digit answer corrected to another digit or to "not
    a digit", or a "not a digit" answer corrected to a digit. A flagged
    prediction counts under its closest digit.
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
        .values_list("predicted_digit", "is_digit", "correction__label")
    )
    per_digit = {d: {"total": 0, "wrong": 0} for d in range(10)}
    for digit, count in totals:
        per_digit[digit]["total"] = count
    for digit, is_digit, label in corrected:
        # None stands for "not a digit" on both sides; an unchecked prediction (is_digit None) answered its digit.
        answer = None if is_digit is False else digit
        if digit is not None and label != answer:
            per_digit[digit]["wrong"] += 1
    return _accuracy_table(per_digit)


def _accuracy_table(per_digit: dict[int, dict]) -> dict:
    def accuracy(total: int, wrong: int) -> float | None:
        return (total - wrong) / total if total else None

    total = sum(v["total"] for v in per_digit.values())
    wrong = sum(v["wrong"] for v in per_digit.values())
    return {
        "total": total,
        "right": total - wrong,
        "accuracy": accuracy(total, wrong),
        "per_digit": [
            {"digit": d, "total": v["total"], "right": v["total"] - v["wrong"], "accuracy": accuracy(**v)}
            for d, v in per_digit.items()
        ],
    }


def submissions_stale_pending(*, older_than: datetime) -> QuerySet[Submission]:
    """Return submissions still pending since before `older_than`, oldest first."""
    return Submission.objects.filter(status=Submission.Status.PENDING, created_at__lt=older_than).order_by("id")


def submission_review_queue() -> QuerySet[Submission]:
    """Return every submission with what the review queue shows, most worth a look first.

    First the corrections nobody reviewed yet, then the least confident
    predictions; one query fetches owner, model version and correction.
    """
    queryset = Submission.objects.select_related("owner", "model_version", "correction")
    # A number's digits come with their inputs: the queue shows each one.
    return queryset.prefetch_related(
        Prefetch("digits", queryset=SubmissionDigit.objects.order_by("position"))
    ).order_by(*REVIEW_ORDER, "-id")


def submission_pixels(*, submission_id: int) -> bytes:
    """Return the 784 stored input bytes of one submission; raise Submission.DoesNotExist."""
    return bytes(Submission.objects.values_list("pixels", flat=True).get(pk=submission_id))


def submissions_pending_count() -> int:
    """Count submissions waiting for their prediction (served by the `submission_status_created` index)."""
    return Submission.objects.filter(status=Submission.Status.PENDING).count()
