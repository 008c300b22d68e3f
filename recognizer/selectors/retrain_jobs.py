"""Reads of retraining jobs."""

from __future__ import annotations

from recognizer.models import RetrainJob


def retrain_job_current() -> RetrainJob | None:
    """Return the queued or running retrain job, if there is one."""
    return RetrainJob.objects.filter(in_flight=True).select_related("requested_by").first()


def retrain_job_get(*, job_id: int) -> RetrainJob:
    """Return one retrain job with its result version; raise RetrainJob.DoesNotExist."""
    return RetrainJob.objects.select_related("requested_by", "result_version__parent").get(pk=job_id)
