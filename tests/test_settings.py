"""Settings: the embedded default, and a production mode that passes check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process; a deployment never has it.
    ignored = (
        "DATABASE_URL",
        "REDIS_URL",
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SECURE_HSTS_PRELOAD",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_passes_check_deploy_without_warnings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="digitsite.settings.production",
        SECRET_KEY="a-production-secret-key-of-sufficient-length-and-randomness-0123456789",
        ALLOWED_HOSTS="digits.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "digitsite.settings.production",
    "SECRET_KEY": "a-production-secret-key-of-sufficient-length-and-randomness-0123456789",
}


def production_setting(name: str, **env: str) -> str:
    """The repr of one setting in production mode, with these environment variables."""
    code = f"from django.conf import settings; print(repr(settings.{name}))"
    result = run_manage("shell", "-c", code, **{**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_production_mode_refuses_to_start_without_allowed_hosts():
    # base.py's localhost default is for development only.
    for unset_or_empty in ({}, {"ALLOWED_HOSTS": ""}):
        result = run_manage("check", **PRODUCTION, **unset_or_empty)
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert "ALLOWED_HOSTS" in result.stderr


def test_production_mode_takes_allowed_hosts_from_the_environment():
    hosts = production_setting("ALLOWED_HOSTS", ALLOWED_HOSTS="digits.example.com,www.digits.example.com")
    assert hosts == "['digits.example.com', 'www.digits.example.com']"


def test_hsts_preload_is_off_unless_asked_for():
    assert production_setting("SECURE_HSTS_PRELOAD", ALLOWED_HOSTS="digits.example.com") == "False"
    assert production_setting(
        "SECURE_HSTS_PRELOAD", ALLOWED_HOSTS="digits.example.com", SECURE_HSTS_PRELOAD="true"
    ) == ("True")


def test_check_deploy_has_no_warnings_with_hsts_preload_on_either():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        ALLOWED_HOSTS="digits.example.com",
        SECURE_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="digitsite.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_with_no_settings_it_runs_on_sqlite_with_tasks_in_process():
    code = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER, settings.DEBUG)"
    )
    result = run_manage("shell", "-c", code, DJANGO_SETTINGS_MODULE="digitsite.settings.local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["django.db.backends.sqlite3", "True", "True"]


def test_database_url_and_redis_url_switch_to_postgresql_and_workers():
    code = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL)"
    )
    result = run_manage(
        "shell",
        "-c",
        code,
        DJANGO_SETTINGS_MODULE="digitsite.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.postgresql",
        "False",
        "redis://127.0.0.1:6379/3",
    ]


def test_the_log_in_lockout_limit_and_wait_come_from_the_environment():
    code = "from django.conf import settings; print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME)"
    result = run_manage(
        "shell",
        "-c",
        code,
        DJANGO_SETTINGS_MODULE="digitsite.settings.local",
        AXES_FAILURE_LIMIT="3",
        AXES_COOLOFF_MINUTES="60",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "3 1:00:00"
