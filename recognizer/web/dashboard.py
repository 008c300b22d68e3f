"""Staff-only pages next to the admin: the dashboard and its charts, and model versions' metrics charts.

Every view here is for staff only: others are sent to the admin login. The
views read through selectors and hand the rows to `recognizer.web.charts`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from recognizer.models import ModelVersion
from recognizer.selectors.dashboard import (
    correction_backlog,
    correction_confused_pairs,
    model_version_live_accuracy,
    submission_daily_counts,
)
from recognizer.selectors.model_versions import model_version_get, model_version_reliability
from recognizer.selectors.retrain_jobs import retrain_job_current
from recognizer.web import charts

DEFAULT_DAYS = 30
MAX_DAYS = 366
CHARTS = ("daily", "accuracy", "confused")
METRIC_SETS = ("mnist", "holdout")
CONFUSED_PAIRS = 10


def _days(request: HttpRequest) -> int:
    try:
        return min(MAX_DAYS, max(1, int(request.GET.get("days", DEFAULT_DAYS))))
    except ValueError:
        return DEFAULT_DAYS


def _png(data: bytes, *, max_age: int) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


def _daily_rows(days: int) -> list[dict]:
    """Every day of the period, oldest first, with zeros for days without submissions."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    counts = {row["day"]: row for row in submission_daily_counts(since=timezone.now() - timedelta(days=days))}
    empty = {"total": 0, "corrected": 0}
    return [{**counts.get(first + timedelta(days=n), empty), "day": first + timedelta(days=n)} for n in range(days)]


@staff_member_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Submissions per day, live accuracy per version, confused pairs and the review backlog."""
    days = _days(request)
    context = {
        **admin.site.each_context(request),
        "title": "Recognizer dashboard",
        "days": days,
        "day_choices": (7, 30, 90, 365),
        "daily": _daily_rows(days),
        "accuracy": model_version_live_accuracy(),
        "confused": correction_confused_pairs(limit=CONFUSED_PAIRS),
        "backlog": correction_backlog(),
        "retrain_job": retrain_job_current(),
        "charts": {name: reverse("dashboard:chart", args=[name]) + f"?days={days}" for name in CHARTS},
        "review_url": reverse("admin:recognizer_submission_changelist"),
    }
    return render(request, "recognizer/dashboard.html", context)


@staff_member_required
@require_GET
def chart(request: HttpRequest, name: str) -> HttpResponse:
    """One dashboard chart as a PNG, drawn from the current data."""
    if name == "daily":
        days = _days(request)
        data = charts.daily_chart(_daily_rows(days), days=days)
    elif name == "accuracy":
        data = charts.accuracy_chart(model_version_live_accuracy())
    elif name == "confused":
        data = charts.confused_chart(correction_confused_pairs(limit=CONFUSED_PAIRS))
    else:
        raise Http404("No such chart.")
    return _png(data, max_age=60)


@staff_member_required
@require_GET
def model_version_chart(request: HttpRequest, version_id: int, which: str) -> HttpResponse:
    """Per-class accuracy and confusion matrix of one version's evaluation, as a PNG, cached by the metrics' content."""
    try:
        version = model_version_get(version_id=version_id)
    except ModelVersion.DoesNotExist:
        raise Http404("No such model version.") from None
    if which == "reliability":
        return _reliability_chart(version)
    metrics = (version.metrics or {}).get(which) if which in METRIC_SETS else None
    if not metrics or not metrics.get("confusion_matrix") or not metrics.get("per_class_accuracy"):
        raise Http404("This version has no such metrics.")
    digest = hashlib.sha256(json.dumps(metrics, sort_keys=True).encode()).hexdigest()[:16]
    key = f"admin-metrics-chart:{version.pk}:{which}:{digest}"
    data = cache.get(key)
    if data is None:
        title = f"{version} on {'MNIST test' if which == 'mnist' else 'held-out corrections'}"
        if metrics.get("accuracy") is not None:
            title += f": accuracy {metrics['accuracy']:.4f}"
        data = charts.metrics_chart(metrics, title=title)
        cache.set(key, data, timeout=24 * 3600)
    return _png(data, max_age=3600)


def _reliability_chart(version: ModelVersion) -> HttpResponse:
    bins = model_version_reliability(version=version)
    if not bins:
        raise Http404("This version has no calibration measured.")
    digest = hashlib.sha256(json.dumps(bins, sort_keys=True).encode()).hexdigest()[:16]
    key = f"admin-reliability-chart:{version.pk}:{digest}"
    data = cache.get(key)
    if data is None:
        data = charts.reliability_chart(bins, title=f"{version}: reliability on MNIST test")
        cache.set(key, data, timeout=24 * 3600)
    return _png(data, max_age=3600)
