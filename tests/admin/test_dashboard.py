"""The staff dashboard: per-day counts, live accuracy per version, confused pairs, backlog, charts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from recognizer.models import Correction
from recognizer.selectors.dashboard import (
    correction_backlog,
    correction_confused_pairs,
    model_version_live_accuracy,
    submission_daily_counts,
)
from tests.factories import CorrectionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(versions):
    """v2 predicted 7 as 1 twice and 4 as 9 once; v1 was right on everything checked."""
    v1, v2, _ = versions
    now = timezone.now()
    for _ in range(2):
        CorrectionFactory(label=7, submission__predicted_digit=1, submission__model_version=v2)
    CorrectionFactory(label=9, submission__predicted_digit=4, submission__model_version=v2)
    # A correction an admin rejected does not count against the model.
    CorrectionFactory(
        label=3, submission__predicted_digit=8, submission__model_version=v2, review_state=Correction.Review.REJECTED
    )
    CorrectionFactory(label=5, submission__predicted_digit=5, submission__model_version=v1)  # confirms
    SubmissionFactory.create_batch(3, model_version=v2)
    SubmissionFactory(model_version=v1, created_at=now - timedelta(days=3))
    return versions


def test_live_accuracy_per_version_from_corrections(history):
    v1, v2, _ = history
    rows = {row["number"]: row for row in model_version_live_accuracy()}
    assert rows[2]["total"] == 7 and rows[2]["wrong"] == 3 and rows[2]["feedback"] == 3
    assert rows[2]["accuracy"] == pytest.approx(4 / 7)
    assert rows[2]["feedback_accuracy"] == 0
    assert rows[1]["total"] == 2 and rows[1]["wrong"] == 0 and rows[1]["feedback_accuracy"] == 1


def test_confused_pairs_and_backlog(history):
    pairs = correction_confused_pairs(limit=10)
    assert pairs[0] == {"true": 7, "predicted": 1, "count": 2}
    assert {"true": 9, "predicted": 4, "count": 1} in pairs
    assert all(pair["true"] != 3 for pair in pairs)
    backlog = correction_backlog()
    assert (backlog["pending"], backlog["rejected"], backlog["accepted"]) == (4, 1, 0)
    assert backlog["oldest_pending"] is not None


def test_daily_counts(history):
    rows = submission_daily_counts(since=timezone.now() - timedelta(days=7))
    assert sum(row["total"] for row in rows) == 9
    assert sum(row["corrected"] for row in rows) == 5
    assert rows[0]["day"] == (timezone.now() - timedelta(days=3)).date()


def test_dashboard_page_shows_the_numbers_and_its_charts(staff_client, history):
    response = staff_client.get(reverse("dashboard:index") + "?days=7")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Review backlog" in html
    assert "?corrected_to=7&amp;predicted=1" in html
    for name in ("daily", "accuracy", "confused"):
        assert reverse("dashboard:chart", args=[name]) + "?days=7" in html
    assert "0.5714" in html  # v2's live accuracy


def test_admin_index_links_to_the_dashboard(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("dashboard:index") in html


@pytest.mark.parametrize("name", ["daily", "accuracy", "confused"])
@pytest.mark.parametrize("with_data", [True, False])
def test_dashboard_charts_are_pngs_with_or_without_data(staff_client, request, name, with_data):
    if with_data:
        request.getfixturevalue("history")
    response = staff_client.get(reverse("dashboard:chart", args=[name]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).format == "PNG"


def test_unknown_chart_is_404(staff_client):
    assert staff_client.get(reverse("dashboard:chart", args=["nope"])).status_code == 404
