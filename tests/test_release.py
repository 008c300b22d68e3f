"""The Procfile's release step (migrate, then ensure_model) can run again and again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def release_command() -> str:
    [line] = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("release:")]
    return line.removeprefix("release:").strip()


@pytest.fixture
def fresh_database_url(tmp_path, django_db_blocker):
    """A database of the test run's kind that no one has migrated yet."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'release.sqlite3'}"
        return
    import psycopg

    db = connection.settings_dict
    name = f"digits_release_{uuid.uuid4().hex[:8]}"
    admin = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"], "dbname": "postgres"}
    if db["PASSWORD"]:
        admin["password"] = db["PASSWORD"]
    with psycopg.connect(**admin, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    yield f"postgres://{db['USER']}{password}@{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(**admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_the_release_step_runs_twice_and_changes_nothing_the_second_time(fresh_database_url, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")},
        "DJANGO_SETTINGS_MODULE": "digitsite.settings.local",
        "DATABASE_URL": fresh_database_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "RECOGNIZER_MODEL_CACHE": str(tmp_path / "cache"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }

    def release() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", release_command()], cwd=ROOT, env=env, capture_output=True, text=True)

    first = release()
    assert first.returncode == 0, first.stderr[-3000:]
    served = tmp_path / "cache"
    copies = {path.name: path.stat().st_mtime_ns for path in served.glob("*.tflite")}
    assert len(copies) == 2  # the classifier's and the detector's served copies
    stored = sorted(path.relative_to(tmp_path) for path in (tmp_path / "media").rglob("*"))

    second = release()

    assert second.returncode == 0, second.stderr[-3000:]
    assert "No migrations to apply." in second.stdout
    assert (
        re.findall(r"active model: (v\d+)", first.stdout)
        == re.findall(r"active model: (v\d+)", second.stdout)
        == ["v1"]
    )
    assert {path.name: path.stat().st_mtime_ns for path in served.glob("*.tflite")} == copies  # not exported again
    assert sorted(path.relative_to(tmp_path) for path in (tmp_path / "media").rglob("*")) == stored
