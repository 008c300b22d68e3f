"""Management commands that set a machine up: ensure_model."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from training.serving import SERVING_FORMAT

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_cache(settings, tmp_path):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MODEL_CACHE_DIR": tmp_path}
    return tmp_path


def test_ensure_model_reports_the_active_version_and_prepares_its_served_copy(active_version, empty_cache):
    out = StringIO()

    call_command("ensure_model", stdout=out)

    assert f"active model: {active_version}" in out.getvalue()
    assert "MNIST test accuracy 0.9960" in out.getvalue()
    copies = list(empty_cache.glob(f"*.{SERVING_FORMAT}.tflite"))
    assert len(copies) == 1 and copies[0].stat().st_size > 100_000
    assert f"served copy: {copies[0]}" in out.getvalue()


def test_ensure_model_can_leave_the_export_to_the_first_prediction(active_version, empty_cache):
    call_command("ensure_model", "--no-export", stdout=StringIO())
    assert not list(empty_cache.glob("*.tflite"))
