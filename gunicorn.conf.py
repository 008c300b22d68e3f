"""gunicorn's settings for the web process: `gunicorn -c gunicorn.conf.py digitsite.wsgi` (see Procfile).

Environment: BIND (127.0.0.1) and PORT (8000); WEB_CONCURRENCY (default 2 x CPUs + 1); LOG_FORMAT (json
under production settings, else plain), the access log's format as well; PROMETHEUS_MULTIPROC_DIR for
metrics that add up every worker (docs/operations.md).
"""

import multiprocessing
import os
import sys
from pathlib import Path

from gunicorn import glogging

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digitsite.logs import json_formatter

bind = f"{os.environ.get('BIND', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Sync workers: a request that waits for a worker's prediction (`wait`, up to 30 s) holds one, so more than CPUs.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# Above the longest wait a request may ask for (RECOGNIZER MAX_WAIT_SECONDS = 30) plus its own work.
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"

_settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("json" if _settings_module.endswith(".production") else "plain")


class JsonAccessLogger(glogging.Logger):
    """gunicorn's logger, with one JSON line per request in the fields Django's log lines use."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        seconds = request_time.total_seconds()
        status = int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"]
        self.access_log.info(
            "%s %s %s",
            atoms["m"],
            atoms["U"],
            status,
            extra={
                "event": "access",
                "request_id": atoms["{x-request-id}o"],
                "method": atoms["m"],
                "path": atoms["U"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "bytes": atoms["B"],
                "remote_addr": atoms["h"],
                "user_agent": atoms["a"],
            },
        )


if LOG_FORMAT == "json":
    logger_class = JsonAccessLogger
    _console = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    logconfig_dict = {
        "formatters": {"json": json_formatter()},
        "handlers": {"console": _console},
        # Not propagated: Django's own logging (the same handler on the root logger) would print each line twice.
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    # A dead worker's live gauges leave the sum; its counters stay in it (Prometheus' multiprocess mode).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
