"""Benchmark: the 28x28 thumbnails of a 100-row review queue, inline or one request each.

Run with `.venv/bin/pytest -s benchmarks/admin_thumbnails.py`; the figures go in docs/admin.md.
"""

from __future__ import annotations

import statistics
import time

import pytest
from django.urls import reverse
from django.utils.html import format_html

from recognizer.admin.submissions import SubmissionAdmin
from recognizer.models import Submission
from recognizer.selectors.submissions import submission_review_queue
from tests.factories import SubmissionFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROUNDS = 3


def by_url(self, obj: Submission) -> str:
    url = reverse("recognizer:submission_input", args=[obj.pk])
    return format_html('<img class="digit-thumb" src="{}" alt="input {}">', url, obj.pk)


def test_thumbnail_cost(staff_client, monkeypatch):
    owners = [UserFactory() for _ in range(10)]
    for index in range(100):
        SubmissionFactory(owner=owners[index % 10], confidence=index / 100)
    changelist = reverse("admin:recognizer_submission_changelist")
    staff_client.get(changelist)  # warm up

    def page() -> int:
        response = staff_client.get(changelist)
        assert len(response.context["cl"].result_list) == 100
        return len(response.content)

    ids = list(Submission.objects.values_list("pk", flat=True))

    def page_and_thumbnails() -> int:
        return page() + sum(
            len(staff_client.get(reverse("recognizer:submission_input", args=[pk])).content) for pk in ids
        )

    def without_pixels(self, request):
        return submission_review_queue().defer("pixels")

    variants = {
        "no input thumbnails (baseline)": (
            {"model_input": lambda self, obj: "-", "get_queryset": without_pixels},
            page,
        ),
        "inline data URIs": ({}, page),
        "staff view, one request a row": ({"model_input": by_url, "get_queryset": without_pixels}, page_and_thumbnails),
    }
    times = {name: [] for name in variants}
    sizes = {}
    # Rounds interleave the variants so a busy machine slows them alike.
    for _ in range(ROUNDS):
        for name, (patches, work) in variants.items():
            with monkeypatch.context() as patch:
                for attribute, value in patches.items():
                    patch.setattr(SubmissionAdmin, attribute, value)
                start = time.perf_counter()
                sizes[name] = work()
                times[name].append((time.perf_counter() - start) * 1000)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n100-row review queue, median of {ROUNDS} (test client, SQLite):")
    for name in variants:
        print(f"  {name:32} {medians[name]:7.1f} ms {sizes[name] / 1024:6.1f} kB")
