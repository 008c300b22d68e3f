"""Staff-only pages next to the admin: the dashboard, its charts, metrics charts and input thumbnails.

Charts are drawn on the server with matplotlib's Agg backend (no pyplot
state, so requests do not share figures). Every view here is for staff only:
others are sent to the admin login.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from recognizer.models import ModelVersion, Submission
from recognizer.selectors.dashboard import (
    correction_backlog,
    correction_confused_pairs,
    model_version_live_accuracy,
    submission_daily_counts,
)
from recognizer.selectors.model_versions import model_version_get
from recognizer.selectors.retrain_jobs import retrain_job_current
from recognizer.selectors.submissions import submission_pixels
from training.preprocessing import bytes_to_pixels, pixels_to_png

app_name = "dashboard"

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_SCALE = 10
CHARTS = ("daily", "accuracy", "confused")
METRIC_SETS = ("mnist", "holdout")


def _days(request) -> int:
    try:
        return min(MAX_DAYS, max(1, int(request.GET.get("days", DEFAULT_DAYS))))
    except ValueError:
        return DEFAULT_DAYS


def _png(data: bytes, *, max_age: int) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _daily_rows(days: int) -> list[dict]:
    """Every day of the period, oldest first, with zeros for days without submissions."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    counts = {row["day"]: row for row in submission_daily_counts(since=timezone.now() - timedelta(days=days))}
    empty = {"total": 0, "corrected": 0}
    return [{**counts.get(first + timedelta(days=n), empty), "day": first + timedelta(days=n)} for n in range(days)]


def _daily_chart(days: int) -> bytes:
    from matplotlib.ticker import MaxNLocator

    rows = _daily_rows(days)
    figure = _figure(6, 3)
    axes = figure.add_subplot()
    positions = range(len(rows))
    axes.bar(positions, [row["total"] for row in rows], color="#3b6fd4", label="submissions")
    axes.bar(positions, [row["corrected"] for row in rows], color="#e07b39", label="corrected")
    step = max(1, len(rows) // 8)
    axes.set_xticks(positions[::step], [row["day"].strftime("%b %d") for row in rows][::step], fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"submissions per day, last {days} days (UTC)")
    axes.legend(loc="upper left", fontsize=8)
    return _figure_png(figure)


def _accuracy_chart() -> bytes:
    rows = model_version_live_accuracy()
    figure = _figure(6, 3)
    axes = figure.add_subplot()
    labels = [f"v{row['number']}" for row in rows]
    axes.bar(labels, [row["accuracy"] or 0 for row in rows], color="#3b6fd4", label="all predictions")
    axes.plot(labels, [row["feedback_accuracy"] for row in rows], "o", color="#e07b39", label="with feedback only")
    axes.set_ylim(0, 1)
    axes.set_title("live accuracy per model version, from people's corrections")
    axes.legend(loc="lower left", fontsize=8)
    if not rows:
        axes.text(0.5, 0.5, "no predictions yet", ha="center", va="center", transform=axes.transAxes)
    return _figure_png(figure)


def _confused_chart() -> bytes:
    from matplotlib.ticker import MaxNLocator

    rows = correction_confused_pairs(limit=10)
    figure = _figure(6, 3)
    axes = figure.add_subplot()
    labels = [f"{row['true']} read as {row['predicted']}" for row in rows][::-1]
    axes.barh(labels, [row["count"] for row in rows][::-1], color="#c0392b")
    axes.set_title("most confused digit pairs (true read as predicted)")
    axes.set_xlabel("corrections")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not rows:
        axes.text(0.5, 0.5, "no corrections yet", ha="center", va="center", transform=axes.transAxes)
    return _figure_png(figure)


@staff_member_required
@require_GET
def dashboard(request):
    """Submissions per day, live accuracy per version, confused pairs and the review backlog."""
    days = _days(request)
    context = {
        **admin.site.each_context(request),
        "title": "Recognizer dashboard",
        "days": days,
        "day_choices": (7, 30, 90, 365),
        "daily": _daily_rows(days),
        "accuracy": model_version_live_accuracy(),
        "confused": correction_confused_pairs(limit=10),
        "backlog": correction_backlog(),
        "retrain_job": retrain_job_current(),
        "charts": {name: reverse("dashboard:chart", args=[name]) + f"?days={days}" for name in CHARTS},
        "review_url": reverse("admin:recognizer_submission_changelist"),
    }
    return render(request, "recognizer/dashboard.html", context)


@staff_member_required
@require_GET
def chart(request, name: str):
    """One dashboard chart as a PNG, drawn from the current data."""
    if name == "daily":
        data = _daily_chart(_days(request))
    elif name == "accuracy":
        data = _accuracy_chart()
    elif name == "confused":
        data = _confused_chart()
    else:
        raise Http404("No such chart.")
    return _png(data, max_age=60)


@staff_member_required
@require_GET
def model_version_chart(request, version_id: int, which: str):
    """Per-class accuracy and confusion matrix of one version's evaluation, as a PNG.

    Drawn by training.evaluate.plot_metrics and cached by the metrics' content.
    """
    from training.evaluate import plot_metrics

    try:
        version = model_version_get(version_id=version_id)
    except ModelVersion.DoesNotExist:
        raise Http404("No such model version.") from None
    metrics = (version.metrics or {}).get(which) if which in METRIC_SETS else None
    if not metrics or not metrics.get("confusion_matrix") or not metrics.get("per_class_accuracy"):
        raise Http404("This version has no such metrics.")
    digest = hashlib.sha256(json.dumps(metrics, sort_keys=True).encode()).hexdigest()[:16]
    key = f"admin-metrics-chart:{version.pk}:{which}:{digest}"
    data = cache.get(key)
    if data is None:
        buffer = io.BytesIO()
        title = f"{version} on {'MNIST test' if which == 'mnist' else 'held-out corrections'}"
        if metrics.get("accuracy") is not None:
            title += f": accuracy {metrics['accuracy']:.4f}"
        plot_metrics(metrics, buffer, title=title)
        data = buffer.getvalue()
        cache.set(key, data, timeout=24 * 3600)
    return _png(data, max_age=3600)


@staff_member_required
@require_GET
def submission_input(request, submission_id: int):
    """The 28x28 model input of one submission as a PNG (dark ink on white), `?scale=` 1 to 10."""
    try:
        pixels = submission_pixels(submission_id=submission_id)
    except Submission.DoesNotExist:
        raise Http404("No such submission.") from None
    try:
        scale = min(MAX_SCALE, max(1, int(request.GET.get("scale", 1))))
    except ValueError:
        scale = 1
    # The input of a submission never changes once stored.
    return _png(pixels_to_png(bytes_to_pixels(pixels), scale=scale), max_age=86400)


urlpatterns = [
    path("", dashboard, name="index"),
    path("charts/<str:name>.png", chart, name="chart"),
    path("models/<int:version_id>/<str:which>.png", model_version_chart, name="model_version_chart"),
    path("submissions/<int:submission_id>/input.png", submission_input, name="submission_input"),
]
