"""The dashboard's charts as pure functions: rows in, a PNG out, with or without data; no database, no request."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pytest
from PIL import Image

from recognizer.web import charts
from training.evaluate import metrics_from_predictions


def assert_png(data: bytes, *, min_width: int = 100) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size[0] >= min_width


DAILY = [{"day": date(2026, 1, 1) + timedelta(days=n), "total": n, "corrected": n // 2} for n in range(30)]
ACCURACY = [
    {"number": 1, "accuracy": 0.9, "feedback_accuracy": 0.5},
    {"number": 2, "accuracy": None, "feedback_accuracy": None},
]
CONFUSED = [{"true": 7, "predicted": 1, "count": 3}, {"true": 4, "predicted": 9, "count": 1}]


@pytest.mark.parametrize("rows", [DAILY, DAILY[:1], []])
def test_daily_chart(rows):
    assert_png(charts.daily_chart(rows, days=max(1, len(rows))))


@pytest.mark.parametrize("rows", [ACCURACY, []])
def test_accuracy_chart(rows):
    assert_png(charts.accuracy_chart(rows))


@pytest.mark.parametrize("rows", [CONFUSED, []])
def test_confused_chart(rows):
    assert_png(charts.confused_chart(rows))


def test_metrics_chart_draws_the_confusion_matrix():
    truth = np.repeat(np.arange(10), 10)
    predicted = np.where(np.arange(100) < 3, (truth + 1) % 10, truth)
    assert_png(charts.metrics_chart(metrics_from_predictions(truth, predicted), title="v1 on MNIST"), min_width=500)
