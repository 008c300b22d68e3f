"""Decide how background work runs: a Celery task, in this process, or a thread.

The one module that imports `recognizer.tasks`, and only when work is sent,
so services can ask for work without importing the tasks that call them.
Without a broker (the embedded default) predictions run right here and a
retraining runs in a thread of this process. With one, work goes to the
workers; if the broker is down, nothing is lost: submissions stay pending
for the sweep, and a retraining job says why it failed.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections

from recognizer import conf

logger = logging.getLogger(__name__)


def predictions_dispatch(*, submission_ids: list[int]) -> None:
    """Have these submissions predicted; never lose them if the broker is down."""
    if not conf.has_broker():
        # A trip through Celery's eager machinery would only add time.
        from recognizer.services.submissions import submissions_predict_or_fail

        submissions_predict_or_fail(submission_ids=submission_ids)
        return
    from recognizer import tasks

    try:
        if len(submission_ids) == 1:
            tasks.submission_predict.delay(submission_ids[0])
        else:
            tasks.submissions_predict.delay(submission_ids)
    except Exception:  # the broker is unreachable; the sweep will catch up
        logger.warning("Broker unreachable; submissions %s stay pending for the sweep.", submission_ids)


def retrain_runs_in_thread() -> bool:
    """Whether a retraining started here runs in a thread of this process (no broker, background on)."""
    return not conf.has_broker() and conf.retrain_in_background()


def retrain_dispatch(*, job_id: int) -> None:
    """Have this retraining job run: in a thread without a broker, else on a worker."""
    from recognizer.services.retraining import retrain_job_fail, retrain_job_run

    if retrain_runs_in_thread():
        threading.Thread(target=_retrain_in_thread, args=(job_id,), name=f"retrain-job-{job_id}", daemon=True).start()
        return
    if not conf.has_broker():
        retrain_job_run(job_id=job_id)
        return
    from recognizer import tasks

    try:
        tasks.retrain_job_run.delay(job_id)
    except Exception as error:
        logger.warning("Broker unreachable; retrain job %s not sent.", job_id)
        retrain_job_fail(job_id=job_id, error=f"The task queue could not be reached: {error}")


def _retrain_in_thread(job_id: int) -> None:
    from recognizer.services.retraining import retrain_job_fail, retrain_job_run

    try:
        retrain_job_run(job_id=job_id)
    except Exception as error:  # before the job could record it itself, e.g. the database was locked
        logger.exception("Retrain job %s could not run.", job_id)
        retrain_job_fail(job_id=job_id, error=f"{type(error).__name__}: {error}")
    finally:
        connections.close_all()  # this thread's own connections
