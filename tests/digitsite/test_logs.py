"""Log formats: plain text by default, JSON lines in production or with LOG_FORMAT=json."""

from __future__ import annotations

import json

import pytest

from digitsite.logs import logging_settings
from tests.test_settings import production_setting, run_manage

LOG_A_LINE = (
    "import logging; from digitsite.observability import request_id_var; request_id_var.set('rid-1'); "
    "logging.getLogger('digits.check').warning('hello %s', 'there', extra={'digit': 7})"
)


def test_json_lines_carry_time_level_logger_message_request_id_and_extras():
    result = run_manage("shell", "-c", LOG_A_LINE, DJANGO_SETTINGS_MODULE="digitsite.settings.local", LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["logger"] == "digits.check"
    assert line["message"] == "hello there"
    assert line["request_id"] == "rid-1"
    assert line["digit"] == 7
    assert line["time"].endswith("+00:00")


def test_plain_text_is_the_default_of_local_settings():
    result = run_manage("shell", "-c", LOG_A_LINE, DJANGO_SETTINGS_MODULE="digitsite.settings.local")

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("WARNING digits.check: hello there")


def test_production_logs_json_unless_told_otherwise():
    assert production_setting("LOG_FORMAT", ALLOWED_HOSTS="digits.example.com") == "'json'"
    assert production_setting("LOG_FORMAT", ALLOWED_HOSTS="digits.example.com", LOG_FORMAT="plain") == "'plain'"


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_settings(log_format="xml", level="INFO")
