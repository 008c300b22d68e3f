"""serve_metrics: a worker-only machine's /metrics, read from the folder its worker processes write to."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.celery.conftest import database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-0123456789"


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def metrics_folder(tmp_path):
    """The folder of a machine whose worker process predicted three digits with version 7."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    code = "from recognizer.metrics import PREDICTIONS; PREDICTIONS.labels('7', 'digit', 'digit').inc(3)"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return folder


def test_serve_metrics_answers_the_workers_metrics_to_the_token_only(transactional_db, metrics_folder):
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "digitsite.settings.test",
        "DATABASE_URL": database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_folder),
        "METRICS_TOKEN": TOKEN,
    }
    command = [sys.executable, "manage.py", "serve_metrics", "--port", "0"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = wait_for(lambda: re.search(r"on 127\.0\.0\.1:(\d+)", server.stdout.readline()), message="the port")[1]
        base = f"http://127.0.0.1:{port}"

        status, text = get(f"{base}/metrics", TOKEN)
        assert status == 200
        assert 'digits_predictions_total{kind="digit",verdict="digit",version="7"} 3.0' in text
        assert "digits_review_backlog 0.0" in text
        assert get(f"{base}/metrics")[0] == 401
        assert get(f"{base}/metrics", "wrong")[0] == 401
        assert get(f"{base}/other", TOKEN)[0] == 404
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_serve_metrics_refuses_to_start_without_a_token():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "digitsite.settings.local", "METRICS_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "serve_metrics"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode == 1
    assert "Set METRICS_TOKEN" in result.stderr
