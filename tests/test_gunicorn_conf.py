"""The web process as deployed: gunicorn with gunicorn.conf.py, two workers, JSON logs, metrics of both workers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from recognizer.inference import served_copy_for, served_detector_for
from tests.celery.conftest import database_url, wait_for
from tests.images import digit_png

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "metrics-token-for-tests-0123456789"
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        return self.call(urllib.request.Request(self.base + path, headers=headers or {}))

    def call(self, request) -> tuple[int, dict, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def post_image(self, data: bytes, *, token: str, request_id: str) -> tuple[int, dict, bytes]:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="d.png"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Request-ID": request_id,
        }
        return self.call(urllib.request.Request(self.base + "/api/v1/submissions/", data=body, headers=headers))


@pytest.fixture
def gunicorn(transactional_db, active_version, tmp_path):
    # Stored once here, so the workers download the served copies instead of importing TensorFlow.
    served_copy_for(active_version)
    served_detector_for(active_version)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")},
        "DJANGO_SETTINGS_MODULE": "digitsite.settings.test",
        "DATABASE_URL": database_url(),
        "DIGITS_TEST_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    log_path = tmp_path / "gunicorn.log"
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "digitsite.wsgi"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    site = Site(port)
    site.log = lambda: log_path.read_text(errors="replace")

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{site.log()}")
        with contextlib.suppress(OSError):
            return site.get("/healthz")[0] == 200
        return False

    wait_for(up, timeout=120, interval=0.2, message="gunicorn")
    yield site
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def scrape(site: Site) -> dict[tuple[str, tuple], float]:
    status, headers, body = site.get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_gunicorn_serves_the_probes_and_the_metrics_of_both_workers(gunicorn, user):
    token = Token.objects.create(user=user).key
    healthz = ("digits_http_requests_total", (("method", "GET"), ("status", "200"), ("view", "healthz")))
    digits = ("digits_predictions_total", (("kind", "digit"), ("verdict", "digit"), ("version", "1")))
    before = scrape(gunicorn)

    for _ in range(20):
        assert gunicorn.get("/healthz")[0] == 200
    answers = [gunicorn.post_image(digit_png(i), token=token, request_id=f"gunicorn-trace-{i}") for i in range(3)]
    ready_status, _headers, ready = gunicorn.get("/readyz")
    after = scrape(gunicorn)

    assert [status for status, _headers, _body in answers] == [201] * 3, answers
    assert ready_status == 200, ready
    assert json.loads(ready)["status"] == "ready"
    assert gunicorn.get("/metrics")[0] == 401
    assert after[healthz] - before.get(healthz, 0) == 20
    assert after[digits] - before.get(digits, 0) == 3


def test_gunicorn_writes_json_lines_with_the_request_id_from_access_log_to_prediction(gunicorn, user):
    token = Token.objects.create(user=user).key

    status, headers, _body = gunicorn.post_image(digit_png(5), token=token, request_id="one-trace-7")

    assert status == 201
    assert headers["X-Request-ID"] == "one-trace-7"

    def request_lines() -> list[dict] | None:
        texts = (text for text in gunicorn.log().splitlines() if text.startswith("{"))
        found = [line for line in map(json.loads, texts) if line.get("request_id") == "one-trace-7"]
        # gunicorn writes its access line once the answer has gone: the last of the three.
        return found if any(line["logger"] == "gunicorn.access" for line in found) else None

    lines = wait_for(request_lines, message="the request's log lines")
    by_logger = {line["logger"]: line for line in lines}
    assert set(by_logger) >= {"gunicorn.access", "digitsite.requests", "recognizer.metrics"}
    assert by_logger["gunicorn.access"]["status"] == 201
    assert by_logger["digitsite.requests"]["user_id"] == user.pk
    assert by_logger["digitsite.requests"]["view"] == "api:submission-list"
    assert by_logger["recognizer.metrics"]["verdict"] == "digit"
