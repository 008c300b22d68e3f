"""Benchmark: the review queue with 100,000 submissions.

Slow (it stores 100,000 rows): `.venv/bin/pytest -s benchmarks/admin_queue_at_scale.py`.
The figures go in docs/admin.md.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recognizer import selectors
from recognizer.admin import SubmissionAdmin
from recognizer.models import Correction, Submission
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
]

ROWS = 100_000
CHANGELIST = reverse("admin:recognizer_submission_changelist")


def store(versions) -> None:
    owners = [UserFactory() for _ in range(50)]
    now = timezone.now()
    pixels = bytes(range(256)) * 3 + bytes(16)
    batch = [
        Submission(
            owner=owners[i % 50],
            source="canvas",
            image=f"submissions/x/{i}.png",
            pixels=pixels,
            status="done",
            created_at=now - timedelta(minutes=i),
            predicted_digit=i % 10,
            confidence=((i * 7919) % 1000) / 1000,
            model_version=versions[i % 2],
            is_corrected=i % 20 == 0,
        )
        for i in range(ROWS)
    ]
    Submission.objects.bulk_create(batch, batch_size=2000)
    states = list(Correction.Review.values)
    corrected = Submission.objects.filter(is_corrected=True).values_list("pk", "predicted_digit")
    Correction.objects.bulk_create(
        (Correction(submission_id=pk, label=(digit + 1) % 10, review_state=states[pk % 3]) for pk, digit in corrected),
        batch_size=2000,
    )
    waiting = Correction.objects.filter(review_state=Correction.Review.PENDING).values("submission_id")
    Submission.objects.filter(pk__in=waiting).update(needs_review=True)


def measure(client, url: str) -> tuple[float, int]:
    """Median time of three loads of `url`, and how many queries one load makes."""
    times = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            assert client.get(url).status_code == 200
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(queries.captured_queries)


def test_review_queue_with_100000_submissions(staff_client, versions, monkeypatch):
    store(versions)
    staff_client.get(CHANGELIST)
    pages = {
        "review queue (default order)": CHANGELIST,
        "  filtered: review=pending": CHANGELIST + "?review=pending",
        "  filtered: confidence=lt50, predicted=7": CHANGELIST + "?confidence=lt50&predicted=7",
        "  filtered: corrected_to=3": CHANGELIST + "?corrected_to=3",
    }
    results = {name: measure(staff_client, url) for name, url in pages.items()}
    # Baseline: the same page in the model's own order, newest first, which an index serves.
    monkeypatch.setattr(SubmissionAdmin, "get_ordering", lambda self, request: ["-created_at"])
    results["baseline: newest first"] = measure(staff_client, CHANGELIST)
    queue = selectors.submission_review_queue()
    query_only = {
        "query only: review queue, first 100": lambda: list(queue[:100]),
        "query only: newest first, first 100": lambda: list(queue.order_by("-created_at")[:100]),
    }
    for name, run in query_only.items():
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) * 1000)
        results[name] = (statistics.median(times), 1)
    print(f"\n{ROWS:,} submissions, {ROWS // 20:,} corrected, 100 rows a page, median of 3 (SQLite):")
    for name, (ms, count) in results.items():
        print(f"  {name:42} {ms:7.1f} ms {count} queries")
