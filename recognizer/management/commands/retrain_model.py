"""Retrain the model on the accepted corrections and print its progress.

python manage.py retrain_model            # run here, now
python manage.py retrain_model --enqueue  # send to a Celery worker and follow it
"""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from recognizer.dispatch import retrain_runs_in_thread
from recognizer.management.base import DatabaseCommand
from recognizer.models import RetrainJob
from recognizer.selectors.retrain_jobs import retrain_job_get
from recognizer.services.retraining import retrain_job_run, retrain_job_start


class Command(DatabaseCommand):
    help = "Fine-tune the active model on accepted corrections; promote it only if it passes the gate."

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="run on a Celery worker and follow its log")
        parser.add_argument("--no-wait", action="store_true", help="with --enqueue: print the job id and return")

    def handle(self, *args, enqueue: bool, no_wait: bool, **options):
        if enqueue and no_wait and retrain_runs_in_thread():
            # Without a broker the job runs in a thread of this process, which ends when the command does.
            raise CommandError("--no-wait needs Celery workers (set REDIS_URL); without them run it here.")
        try:
            job = retrain_job_start(trigger="command", enqueue=enqueue)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from None
        self.stdout.write(f"Retrain job {job.pk} started.")
        if not enqueue:
            job = retrain_job_run(job_id=job.pk, on_log=self.stdout.write)
        elif no_wait:
            return
        else:
            job = self._follow(job.pk)
        self._report(retrain_job_get(job_id=job.pk))

    def _follow(self, job_id: int) -> RetrainJob:
        printed = 0
        while True:
            job = retrain_job_get(job_id=job_id)
            lines = job.log.splitlines()
            for line in lines[printed:]:
                self.stdout.write(line)
            printed = len(lines)
            if not job.in_flight:
                return job
            time.sleep(1.0)

    def _report(self, job: RetrainJob) -> None:
        if job.state == RetrainJob.State.FAILED:
            raise CommandError(f"Retrain job {job.pk} failed: {job.error}")
        version = job.result_version
        verdict = "active" if version.state == version.State.ACTIVE else version.state
        self.stdout.write(self.style.SUCCESS(f"Job {job.pk} done: {version} is {verdict}. {version.gate_reason}"))
