"""Benchmark: a person's history page with 100,000 submissions.

Slow (it stores 150,000 rows): `.venv/bin/pytest -s benchmarks/history_at_scale.py`.
Baselines in the same run: the same pages for a person with 1,000 submissions, and the
deepest page through Django's own Paginator, which counts every row first. The figures
go in docs/web.md.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.test import Client

from benchmarks.scale import median_ms, store_submissions
from recognizer.selectors.submissions import submission_list, submission_stats
from recognizer.web.pages import HISTORY_PAGE_SIZE
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = 100_000
OTHER_ROWS = 50_000
SMALL_ROWS = 1_000


def test_history_with_100000_submissions(versions):
    heavy, small, other = UserFactory(), UserFactory(), UserFactory()
    store_submissions([heavy], ROWS, versions, every=timedelta(seconds=1))
    store_submissions([other], OTHER_ROWS, versions, every=timedelta(seconds=1))
    store_submissions([small], SMALL_ROWS, versions, every=timedelta(seconds=1))
    clients = {heavy: Client(), small: Client()}
    for user, client in clients.items():
        client.force_login(user)

    def page(user, query: str):
        def run():
            assert clients[user].get(f"/history/?{query}").status_code == 200

        return run

    deepest = ROWS // HISTORY_PAGE_SIZE
    small_deepest = SMALL_ROWS // HISTORY_PAGE_SIZE
    corrected_deepest = ROWS // 20 // HISTORY_PAGE_SIZE

    def django_paginator_deepest_page():
        queryset = submission_list(user=heavy, owner_id=heavy.pk)
        list(Paginator(queryset, HISTORY_PAGE_SIZE).page(deepest).object_list)

    rows = {
        "page 1": (page(heavy, "page=1"), page(small, "page=1")),
        "deepest page": (page(heavy, f"page={deepest}"), page(small, f"page={small_deepest}")),
        "corrected only, deepest page": (
            page(heavy, f"corrected=yes&page={corrected_deepest}"),
            page(small, f"corrected=yes&page={SMALL_ROWS // 20 // HISTORY_PAGE_SIZE}"),
        ),
        "digit 7, page 100": (page(heavy, "digit=7&page=100"), page(small, "digit=7&page=1")),
        "submission_stats alone": (
            lambda: submission_stats(user=heavy),
            lambda: submission_stats(user=small),
        ),
    }
    page(heavy, "page=1")()  # warm-up: templates, connection
    print(f"\nhistory page ({HISTORY_PAGE_SIZE} rows), SQLite, median of 3; another person holds {OTHER_ROWS:,} rows")
    print(f"  {'':34}{f'{ROWS:,} rows':>20}{f'{SMALL_ROWS:,} rows (baseline)':>28}")
    for name, (big_run, small_run) in rows.items():
        big_ms, big_queries = median_ms(big_run)
        small_ms, small_queries = median_ms(small_run)
        print(f"  {name:34}{big_ms:>10.1f} ms {big_queries:>2} q{small_ms:>17.1f} ms {small_queries:>2} q")
    ms, queries = median_ms(django_paginator_deepest_page)
    print(f"  baseline: Django's Paginator (COUNT first), deepest page, selector only: {ms:.1f} ms, {queries} q")
