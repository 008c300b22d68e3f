"""Logging for every process (web, worker, beat, commands): plain text to read, or JSON lines to collect.

`LOG_FORMAT=json` (the production default) writes one JSON object a line: time, level, logger,
message, request_id, and whatever the code passed as `extra` (view, status, duration_ms,
user_id for requests; version, digit, confidence, verdict, ms for predictions). gunicorn's
access log uses the same formatter (gunicorn.conf.py).
"""

from __future__ import annotations

JSON_FIELDS = ["levelname", "name", "message", "request_id"]
JSON_RENAMED = {"levelname": "level", "name": "logger"}
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("plain", "json")


def json_formatter() -> dict:
    """The dictConfig entry of the JSON formatter, for Django's LOGGING and gunicorn's logconfig_dict."""
    return {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": JSON_FIELDS,
        "rename_fields": JSON_RENAMED,
        # "time": ISO 8601 in UTC, sortable and unambiguous across machines.
        "timestamp": "time",
    }


def logging_settings(*, log_format: str, level: str) -> dict:
    """Django's LOGGING for `log_format` ("plain" or "json"); every record gets the request id."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "digitsite.observability.RequestIdFilter"}},
        "formatters": {"plain": {"format": PLAIN_FORMAT}, "json": json_formatter()},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
    }
