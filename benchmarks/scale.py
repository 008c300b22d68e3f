"""Helpers for the at-scale benchmarks: many stored rows, and timing with query counts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recognizer.models import Correction, Submission

PIXELS = bytes(range(256)) * 3 + bytes(16)


def store_submissions(owners: Sequence, count: int, versions, *, every: timedelta, review_states=None) -> None:
    """Bulk-store `count` predicted submissions, round-robin over `owners`, one `every` apart, newest first.

    One in 20 is corrected to the next digit; `review_states`, if given, cycles over the corrections
    by id (else they wait for review), and `needs_review` is set to match.
    """
    now = timezone.now()
    rows = (
        Submission(
            owner=owners[i % len(owners)],
            source=("canvas", "upload", "api")[i % 3],
            image=f"submissions/x/{owners[i % len(owners)].pk}-{i}.png",
            pixels=PIXELS,
            status="done",
            created_at=now - every * i,
            predicted_digit=i % 10,
            confidence=((i * 7919) % 1000) / 1000,
            model_version=versions[i % 2],
            is_corrected=i % 20 == 0,
        )
        for i in range(count)
    )
    created = Submission.objects.bulk_create(rows, batch_size=2000)
    corrected = [(s.pk, s.predicted_digit) for s in created if s.is_corrected]
    states = review_states or [Correction.Review.PENDING]
    Correction.objects.bulk_create(
        (
            Correction(submission_id=pk, label=(digit + 1) % 10, review_state=states[pk % len(states)])
            for pk, digit in corrected
        ),
        batch_size=2000,
    )
    waiting = Correction.objects.filter(
        submission_id__in=[pk for pk, _ in corrected], review_state=Correction.Review.PENDING
    ).values("submission_id")
    Submission.objects.filter(pk__in=waiting).update(needs_review=True)


def median_ms(run: Callable[[], object], repeats: int = 3) -> tuple[float, int]:
    """Median time of `run()` over `repeats` calls, and the queries one call makes."""
    times = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(queries.captured_queries)
