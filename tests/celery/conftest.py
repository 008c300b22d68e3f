"""Real Celery workers on the real Redis, sharing the test database and media.

A worker is a `celery -A digitsite worker` subprocess in its own process
group, pointed by environment variables at the test run's database (the
SQLite test file or the PostgreSQL test database), its media folder and a
queue of its own on the Redis at CELERY_TEST_REDIS_URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from digitsite.celery import app

REDIS_TEST_URL = os.environ.get("CELERY_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
# Safety nets against a hung run, not performance limits: a worker on a busy
# 2-core machine may need many seconds to import TensorFlow.
STARTUP_TIMEOUT = 180.0
WAIT_TIMEOUT = 300.0


def wait_for(condition, *, timeout: float = WAIT_TIMEOUT, interval: float = 0.02, message: str = "condition"):
    """Poll `condition` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {message}.")
        time.sleep(interval)


def database_url() -> str:
    """The URL of the database this test run uses, for a worker process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        if "memory" in str(db["NAME"]):
            pytest.skip("an in-memory SQLite test database cannot be shared with a worker")
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """One `celery worker` process group started by a test."""

    def __init__(self, *, concurrency: int, env: dict, log_path: Path):
        self.log_path = log_path
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        command = [str(CELERY), "-A", "digitsite", "worker", "--loglevel=info", f"--concurrency={concurrency}"]
        command += ["--pool=prefork", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", self.name]
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._ready, timeout=STARTUP_TIMEOUT, interval=0.1, message=f"worker ready; log:\n{self.log()}")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"The worker exited with {self.process.returncode}:\n{self.log()}")
        return " ready." in self.log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pool_processes(self) -> list[int]:
        """The pids of the worker's pool (child) processes."""
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError):
                fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
                if fields.get("PPid", "").strip() == str(self.process.pid):
                    children.append(int(status.parent.name))
        return children

    def kill(self) -> None:
        """kill -9 the whole worker: main process and pool processes, no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def broker_at(url: str, queue: str | None = None):
    """Send this process's tasks to `url` (a real broker, or a closed port), on `queue` if given."""

    def reset():
        # Drop the app's cached routing and pools only: kombu keeps one pool per
        # broker URL, and closing one by force leaves it unusable when that URL comes back.
        app.__dict__.pop("amqp", None)
        app._pool = None

    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, task_always_eager=False, task_default_queue=queue or saved["task_default_queue"])
    reset()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset()


class Broker:
    """The test's queue on the real Redis: a queue of its own, so parallel test runs never meet."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.queue = f"digits-test-{uuid.uuid4().hex[:12]}"

    def queued(self) -> int:
        return self.client.llen(self.queue)

    def _unacked(self) -> list[tuple[bytes, list]]:
        """Messages of this queue a worker took and has not acknowledged (kombu's `unacked` hash)."""
        rows = []
        for tag, raw in self.client.hgetall("unacked").items():
            payload, _exchange, routing_key = json.loads(raw)
            if routing_key == self.queue:
                rows.append((tag, payload))
        return rows

    def take_unacked(self) -> list[dict]:
        """Take the messages a dead worker took but never acknowledged out of Redis, to re-deliver later."""
        messages = []
        for tag, payload in self._unacked():
            self.client.hdel("unacked", tag)
            self.client.zrem("unacked_index", tag)
            messages.append(payload)
        return messages

    def redeliver(self, messages: list[dict]) -> list[str]:
        """Put messages back on the queue, as kombu does once the visibility timeout has passed.

        Returns the ids of their tasks.
        """
        for payload in messages:
            self.client.lpush(self.queue, json.dumps(payload))
        return [payload["headers"]["id"] for payload in messages]

    def clean(self) -> None:
        for tag, _payload in self._unacked():
            self.client.hdel("unacked", tag)
            self.client.zrem("unacked_index", tag)
        self.client.delete(self.queue)


@pytest.fixture
def broker(transactional_db, settings):
    """The real Redis as this process's broker (tasks go to workers), on a queue of the test's own."""
    broker = Broker(REDIS_TEST_URL)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS_TEST_URL
    with broker_at(REDIS_TEST_URL, broker.queue):
        yield broker
    broker.clean()


@pytest.fixture
def workers(broker: Broker, tmp_path):
    """Start real workers with `workers.start()`; all are stopped after the test."""

    class Workers:
        def __init__(self):
            self.started: list[Worker] = []

        def start(self, *, concurrency: int = 1, env: dict | None = None) -> Worker:
            environment = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "digitsite.settings.test",
                "REDIS_URL": REDIS_TEST_URL,
                "DATABASE_URL": database_url(),
                "DIGITS_TEST_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
                "DIGITS_TEST_CELERY_QUEUE": broker.queue,
                "RECOGNIZER_PENDING_SWEEP_AFTER": "0",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                **(env or {}),
            }
            worker = Worker(
                concurrency=concurrency, env=environment, log_path=tmp_path / f"worker-{len(self.started)}.log"
            )
            self.started.append(worker)
            return worker

    manager = Workers()
    yield manager
    for worker in manager.started:
        worker.stop()
