"""A Celery worker's liveness probe: is its heartbeat file fresh? (No broker, no round trip.)"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from digitsite.heartbeat import heartbeat_age_seconds, heartbeat_path


class Command(BaseCommand):
    help = "Exit 0 if the worker touched its heartbeat file (WORKER_HEARTBEAT_FILE) in the last --max-age seconds."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60: six missed beats)")
        parser.add_argument("--file", help="the heartbeat file, if not WORKER_HEARTBEAT_FILE")

    def handle(self, *args, max_age: float, file: str | None, **options):
        path = Path(file) if file else heartbeat_path()
        age = heartbeat_age_seconds(path)
        if age is None:
            raise CommandError("No heartbeat: the worker is not running or has not started yet.", returncode=1)
        if age > max_age:
            raise CommandError(f"Heartbeat {age:.0f} s old (at most {max_age:g} allowed).", returncode=1)
        self.stdout.write(f"alive: heartbeat {age:.1f} s old")
