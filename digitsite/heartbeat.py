"""A Celery worker's heartbeat file: touched by the worker's own event loop, read by a liveness probe.

`celery inspect ping` needs the broker and a round trip through every worker; a file's age needs
neither. The worker's main process touches WORKER_HEARTBEAT_FILE every WORKER_HEARTBEAT_SECONDS
from its timer, so a worker whose loop hangs stops touching it; it removes the file when it stops.
The probe: `python manage.py check_worker_heartbeat` (or the shell one-liner in docs/operations.md).
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from celery import bootsteps
from django.conf import settings

logger = logging.getLogger(__name__)


def heartbeat_path() -> Path:
    return Path(settings.WORKER_HEARTBEAT_FILE)


def heartbeat_age_seconds(path: Path | None = None) -> float | None:
    """Seconds since the worker last touched its heartbeat file; None if there is none."""
    try:
        return max(0.0, time.time() - (path or heartbeat_path()).stat().st_mtime)
    except FileNotFoundError:
        return None


class HeartbeatStep(bootsteps.StartStopStep):
    """A worker bootstep: touch the file on start and then on the worker's timer; remove it on stop."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.path = heartbeat_path()
        self.timer_entry = None

    def touch(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError:  # a full or read-only disk: the probe will say so by the file's age
            logger.warning("Could not touch the heartbeat file.", exc_info=True)

    def start(self, worker) -> None:
        self.touch()
        self.timer_entry = worker.timer.call_repeatedly(settings.WORKER_HEARTBEAT_SECONDS, self.touch, priority=10)

    def stop(self, worker) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
