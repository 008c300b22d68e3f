"""Benchmark: the review queue with 100,000 submissions.

Slow (it stores 100,000 rows): `.venv/bin/pytest -s benchmarks/admin_queue_at_scale.py`.
The figures go in docs/admin.md.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from benchmarks.scale import median_ms, store_submissions
from recognizer.admin.submissions import SubmissionAdmin
from recognizer.models import Correction
from recognizer.selectors.submissions import submission_review_queue
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
]

ROWS = 100_000
CHANGELIST = reverse("admin:recognizer_submission_changelist")


def page_loads(client, url: str):
    def run():
        assert client.get(url).status_code == 200

    return run


def test_review_queue_with_100000_submissions(staff_client, versions, monkeypatch):
    owners = [UserFactory() for _ in range(50)]
    states = list(Correction.Review.values)
    store_submissions(owners, ROWS, versions, every=timedelta(minutes=1), review_states=states)
    staff_client.get(CHANGELIST)
    pages = {
        "review queue (default order)": CHANGELIST,
        "  filtered: review=pending": CHANGELIST + "?review=pending",
        "  filtered: confidence=lt50, predicted=7": CHANGELIST + "?confidence=lt50&predicted=7",
        "  filtered: corrected_to=3": CHANGELIST + "?corrected_to=3",
    }
    results = {name: median_ms(page_loads(staff_client, url)) for name, url in pages.items()}
    # Baseline: the same page in the model's own order, newest first, which an index serves.
    monkeypatch.setattr(SubmissionAdmin, "get_ordering", lambda self, request: ["-created_at"])
    results["baseline: newest first"] = median_ms(page_loads(staff_client, CHANGELIST))
    queue = submission_review_queue()
    query_only = {
        "query only: review queue, first 100": lambda: list(queue[:100]),
        "query only: newest first, first 100": lambda: list(queue.order_by("-created_at")[:100]),
    }
    for name, run in query_only.items():
        results[name] = median_ms(run)
    print(f"\n{ROWS:,} submissions, {ROWS // 20:,} corrected, 100 rows a page, median of 3 (SQLite):")
    for name, (ms, count) in results.items():
        print(f"  {name:42} {ms:7.1f} ms {count} queries")
