"""check_ready: the readiness checks of /readyz for a container healthcheck or a deploy script."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from tests.test_settings import run_manage

pytestmark = pytest.mark.django_db


def test_check_ready_prints_each_check_and_passes(active_version, capsys):
    call_command("check_ready")

    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "ready"
    assert {"database", "migrations", "model", "storage"} <= set(report["checks"])


def test_check_ready_fails_naming_the_broker(active_version, settings, capsys, stored_copy):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    with pytest.raises(CommandError, match="Not ready: broker") as failure:
        call_command("check_ready")

    assert failure.value.returncode == 1
    assert json.loads(capsys.readouterr().out)["checks"]["broker"]["ok"] is False


def test_check_ready_exits_non_zero_on_a_database_not_migrated(tmp_path):
    result = run_manage(
        "check_ready",
        DJANGO_SETTINGS_MODULE="digitsite.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )

    assert result.returncode == 1
    assert "Not ready: migrations, model" in result.stderr
    assert json.loads(result.stdout)["checks"]["migrations"]["error"].endswith("migration(s) not applied")
