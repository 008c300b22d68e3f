"""With SENTRY_DSN set, errors go to Sentry: here a capture server on this machine stands in for it."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.test_settings import run_manage

LOG_AN_ERROR = (
    "import logging, sentry_sdk\n"
    "try:\n"
    "    1 / 0\n"
    "except ZeroDivisionError:\n"
    "    logging.getLogger('recognizer.dispatch').exception('Prediction failed for submissions [1].')\n"
    "sentry_sdk.flush(timeout=10)\n"
)


@pytest.fixture
def capture_server():
    """A stand-in for Sentry's ingest endpoint: it keeps the envelopes it receives."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.received = received
    yield server
    server.shutdown()
    server.server_close()


def envelope_items(envelope: bytes) -> list[dict]:
    """The JSON items of a Sentry envelope (header line, then item header and payload lines)."""
    items = []
    for line in envelope.splitlines():
        with_json = line.strip()
        if with_json.startswith(b"{"):
            items.append(json.loads(with_json))
    return items


def test_an_error_is_reported_with_the_django_and_celery_integrations(capture_server):
    port = capture_server.server_address[1]
    result = run_manage(
        "shell",
        "-c",
        LOG_AN_ERROR,
        DJANGO_SETTINGS_MODULE="digitsite.settings.local",
        SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42",
        SENTRY_ENVIRONMENT="test",
    )

    assert result.returncode == 0, result.stderr
    events = [item for envelope in capture_server.received for item in envelope_items(envelope) if "exception" in item]
    [event] = events
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["logger"] == "recognizer.dispatch"
    assert event["environment"] == "test"
    assert {"django", "celery"} <= set(event["sdk"]["integrations"])
