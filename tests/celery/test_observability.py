"""On a real worker: the request id reaches the worker's log lines, metrics add up across processes, the heartbeat."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from recognizer.models import Submission
from tests.celery.conftest import BASE_DIR, wait_for
from tests.images import digit_png

pytestmark = pytest.mark.celery_worker


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_a_request_id_appears_in_the_web_and_the_worker_log_lines_of_one_request(
    workers, user, active_version, client, caplog, tmp_path
):
    caplog.set_level(logging.INFO)
    worker = workers.start(env={"LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    client.force_login(user)
    image = _named(digit_png(3), "3.png")

    response = client.post("/api/v1/submissions/?wait=30", {"image": image}, HTTP_X_REQUEST_ID="trace-me-42")

    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "trace-me-42"
    submission_id = response.json()["id"]
    [web_line] = [r for r in caplog.records if r.name == "digitsite.requests"]
    assert (web_line.request_id, web_line.status, web_line.user_id) == ("trace-me-42", 201, user.pk)
    [prediction] = wait_for(
        lambda: [line for line in json_lines(worker.log()) if line.get("submission_id") == submission_id],
        message="the worker's prediction line",
    )
    assert prediction["request_id"] == "trace-me-42"
    assert prediction["logger"] == "recognizer.metrics"
    assert prediction["model_version"] == active_version.number
    assert prediction["verdict"] == "digit"
    assert prediction["digit"] == Submission.objects.get(pk=submission_id).predicted_digit
    assert isinstance(prediction["ms"], float) and isinstance(prediction["confidence"], float)


def test_the_pool_processes_metrics_are_read_from_the_shared_folder(workers, user, active_version, client, tmp_path):
    workers.start(concurrency=2, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    client.force_login(user)
    images = {"images": [_named(digit_png(i), f"{i}.png") for i in range(6)]}

    response = client.post("/api/v1/submissions/batch/?wait=30", images)

    # On a loaded machine the two pool processes may take longer than the wait to load the model: 202, still pending.
    assert response.status_code in (201, 202), response.content
    labels = {"version": str(active_version.number), "kind": "digit", "verdict": "digit"}
    confidences = {"version": labels["version"], "kind": "digit"}

    def counted() -> tuple[float | None, float | None]:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(tmp_path))
        return (
            registry.get_sample_value("digits_predictions_total", labels),
            registry.get_sample_value("digits_prediction_confidence_count", confidences),
        )

    # A worker wakes the waiting request at commit and counts the predictions just after: allow it that moment.
    wait_for(lambda: counted() == (6, 6), message="six predictions counted in both metrics")


def check_heartbeat(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check_worker_heartbeat", "--file", str(path), "--max-age", "60"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )


def test_a_worker_touches_its_heartbeat_file_while_it_runs_and_removes_it_when_it_stops(workers, tmp_path):
    path = tmp_path / "worker.heartbeat"
    assert check_heartbeat(path).returncode == 1

    worker = workers.start(env={"WORKER_HEARTBEAT_FILE": str(path), "WORKER_HEARTBEAT_SECONDS": "0.2"})
    first = wait_for(lambda: path.exists() and path.stat().st_mtime_ns, message="the heartbeat file")
    wait_for(lambda: path.stat().st_mtime_ns > first, message="a second beat")

    alive = check_heartbeat(path)
    assert alive.returncode == 0, alive.stderr
    assert "alive" in alive.stdout
    worker.stop()
    assert not path.exists()
    assert "No heartbeat" in check_heartbeat(path).stderr


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")
