"""Management commands that set a machine up: ensure_model, train_model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from recognizer.models import ModelVersion
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
    assert f"MNIST test accuracy {active_version.mnist_accuracy:.4f}" in out.getvalue()
    copies = sorted(empty_cache.glob(f"*.{SERVING_FORMAT}.tflite"))
    detector = [copy for copy in copies if copy.name.startswith("detector-")]
    classifier = [copy for copy in copies if copy not in detector]
    assert len(classifier) == 1 and classifier[0].stat().st_size > 100_000
    assert f"served copy: {classifier[0]}" in out.getvalue()
    # The shipped model comes with its detector, made ready too.
    assert active_version.detector and len(detector) == 1
    assert f"served detector: {detector[0]}" in out.getvalue()


def test_ensure_model_can_leave_the_export_to_the_first_prediction(active_version, empty_cache):
    call_command("ensure_model", "--no-export", stdout=StringIO())
    assert not list(empty_cache.glob("*.tflite"))


@pytest.mark.slow
def test_train_model_trains_writes_its_metrics_and_registers_a_candidate(active_version, tmp_path):
    output = tmp_path / "trained.keras"

    call_command(
        "train_model",
        *("--sample", "--epochs", "2", "--elastic", "0.5", "--output", str(output), "--register"),
        stdout=(out := StringIO()),
    )

    summary = json.loads(output.with_suffix(".metrics.json").read_text())
    assert summary["epochs_run"] == 2 and summary["data_source"] == "bundled sample"
    assert summary["elastic"] == 0.5 and summary["train_images"] == 2700
    matrix = summary["test"]["confusion_matrix"]
    assert sum(map(sum, matrix)) == summary["test"]["count"] == 2000
    assert sum(matrix[d][d] for d in range(10)) / 2000 == pytest.approx(summary["test"]["accuracy"])
    # Two epochs on 2,700 images are too few for batch norm's running statistics to settle, so the test
    # accuracy says little; the training loss says whether it learned.
    losses = summary["history"]["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert not output.with_suffix(".best.keras").exists()
    version = ModelVersion.objects.get(number=active_version.number + 1)
    assert f"registered {version} as a candidate" in out.getvalue()
    assert version.state == ModelVersion.State.CANDIDATE
    assert version.mnist_accuracy == summary["test"]["accuracy"]
    active_version.refresh_from_db()
    assert active_version.state == ModelVersion.State.ACTIVE


@pytest.mark.parametrize(
    "command",
    [
        ["ensure_model"],
        ["evaluate_model"],
        ["bench_inference"],
        ["retrain_model"],
        ["rollback_model"],
        ["train_model", "--sample", "--register"],
    ],
)
def test_commands_on_an_unmigrated_database_say_to_migrate(command, tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    run = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )

    assert run.returncode == 1
    assert "run `python manage.py migrate` first" in run.stderr
    assert "Traceback" not in run.stderr


def test_migrating_back_and_forth_registers_the_model_only_once_all_tables_match(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "m")}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
        )

    steps = [manage("migrate", "--noinput"), manage("migrate", "recognizer", "0004", "--noinput")]
    steps.append(manage("migrate", "--noinput"))

    for run in steps:
        assert run.returncode == 0, run.stderr[-2000:]
        assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_evaluate_model_measures_the_versions_honest_answers(active_version, tmp_path):
    out = StringIO()

    call_command("evaluate_model", "--sample", "--honesty", "--count", "20", "--output-dir", str(tmp_path), stdout=out)

    text = out.getvalue()
    assert "mnist_test_flagged" in text
    report = json.loads(text[text.index("{\n") :])
    assert set(report) == {"digits", "font_digits", "non_digits", "several", "calibration"}
    assert report["calibration"]["temperature"] == pytest.approx(active_version.temperature)
    assert (tmp_path / f"evaluation-v{active_version.number}.json").exists()


@pytest.mark.slow
def test_evaluate_model_reads_written_numbers(active_version, tmp_path):
    out = StringIO()

    call_command("evaluate_model", "--sample", "--numbers", "12", "--output-dir", str(tmp_path), stdout=out)

    text = out.getvalue()
    report = json.loads(text[text.index('{\n  "numbers"') :])
    assert report["numbers"] == 12
    assert {"all", "separated", "close", "touching", "canvas", "file", "photo"} <= set(report["exact_match"])
    assert report["exact_match"]["all"] >= 0.25  # 74% on 900 (docs/benchmarks.md)
    assert 0.0 <= report["wrong_length"] < 0.5
