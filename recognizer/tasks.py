"""Celery tasks: each one takes ids and makes one call into a service.

No task stores a result: the database rows are the results (a submission's
prediction, a retrain job's state). That also keeps a publish from waiting on
the result backend when Redis is down: it fails within a second, and the
submission stays pending for the sweep. Only `recognizer.dispatch` sends them.
"""

from __future__ import annotations

from celery import shared_task

from recognizer.services import files, retraining, submissions

PREDICT_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "max_retries": 5,
    "default_retry_delay": 2,
}


def _predict_or_retry(task, submission_ids: list[int]) -> None:
    # Retry a failed prediction a few times (the model file may be on its way
    # through storage); after the last try, record the failure on the rows.
    try:
        submissions.submissions_predict(submission_ids=submission_ids)
    except Exception as error:
        if task.request.retries < task.max_retries:
            raise task.retry(exc=error) from error
        submissions.submissions_fail(submission_ids=submission_ids, error=f"Prediction failed: {error}")
        raise


@shared_task(**PREDICT_OPTIONS)
def submission_predict(self, submission_id: int) -> None:
    """Predict one submission (nothing happens if it is already done)."""
    _predict_or_retry(self, [submission_id])


@shared_task(**PREDICT_OPTIONS)
def submissions_predict(self, submission_ids: list[int]) -> None:
    """Predict several submissions as one batch."""
    _predict_or_retry(self, submission_ids)


@shared_task(ignore_result=True)
def submissions_sweep_pending() -> int:
    """Send again the predictions that have waited too long (run by celery beat)."""
    return submissions.submissions_sweep_pending()


@shared_task(ignore_result=True)
def files_sweep_orphans() -> int:
    """Delete stored files whose rows were never committed (run by celery beat)."""
    return len(files.files_sweep_orphans())


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=retraining.RETRAIN_TIME_LIMIT_SECONDS,
    soft_time_limit=retraining.RETRAIN_TIME_LIMIT_SECONDS - 60,
)
def retrain_job_run(job_id: int) -> None:
    """Run one retraining job (nothing happens if it already finished)."""
    retraining.retrain_job_run(job_id=job_id)
