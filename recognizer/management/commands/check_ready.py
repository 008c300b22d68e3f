"""Run /readyz's checks in this process: for a container's healthcheck or a deploy script."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from digitsite.probes import readiness_report


class Command(BaseCommand):
    help = "Run the readiness checks of /readyz here; print them as JSON and exit 1 if one fails."

    def handle(self, *args, **options):
        ready, report = readiness_report()
        self.stdout.write(json.dumps(report, indent=2))
        if not ready:
            failed = ", ".join(name for name, row in report["checks"].items() if not row["ok"])
            raise CommandError(f"Not ready: {failed}.", returncode=1)
