"""The Celery app; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.signals import setup_logging

# Connects the signals that carry a web request's id into the tasks it enqueues.
from digitsite import observability  # noqa: F401
from digitsite.heartbeat import HeartbeatStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings.local")

app = Celery("digitsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(HeartbeatStep)


@setup_logging.connect
def _logging_from_django_settings(**kwargs) -> None:
    # Workers and beat log as the web process does (LOG_FORMAT, request ids), not in Celery's own format.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
