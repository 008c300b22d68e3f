"""The product's Prometheus metrics: what the model answers, and how the work around it goes.

Services record events with one call each (`predictions_record`, `correction_record`,
`retrain_job_record`; `preprocessing_timed` decorates the intake), so their code stays about
the product. Levels that live in the database (review backlog, pending submissions) are read
at scrape time by `ProductCollector`, with two cheap indexed counts.

With PROMETHEUS_MULTIPROC_DIR set (see docs/operations.md), prometheus_client writes every
process's values to files there, so the /metrics of one web process adds up all gunicorn
workers and the Celery pool processes of its machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from recognizer.models import RetrainJob, Submission

logger = logging.getLogger(__name__)

# Confidence is calibrated, so most digits sit near 1: fine steps there show a drift of a version.
CONFIDENCE_BUCKETS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0)
# A digit takes 0.06-0.24 ms on the served copy (docs/benchmarks.md); a slow machine or a big batch shows above.
INFERENCE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
PREPROCESSING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
RETRAIN_BUCKETS = (30, 60, 120, 300, 600, 1200, 1800, 2700, 3600, 4200)

PREDICTIONS = Counter(
    "digits_predictions", "Predictions made, by model version, kind and verdict.", ["version", "kind", "verdict"]
)
CONFIDENCE = Histogram(
    "digits_prediction_confidence",
    "Calibrated confidence of each prediction, by model version and kind.",
    ["version", "kind"],
    buckets=CONFIDENCE_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "digits_inference_seconds",
    "Model time per image (classifier and detector), by model version.",
    ["version"],
    buckets=INFERENCE_BUCKETS,
)
PREPROCESSING_SECONDS = Histogram(
    "digits_preprocessing_seconds",
    "Time to check an uploaded picture and turn it into the 28x28 input, rejected pictures included.",
    buckets=PREPROCESSING_BUCKETS,
)
CORRECTIONS = Counter("digits_corrections", "Corrections people made, by the model version that answered.", ["version"])
RETRAIN_JOBS = Counter(
    "digits_retrain_jobs", "Finished retrain jobs by outcome (promoted, rejected, failed).", ["outcome"]
)
RETRAIN_SECONDS = Histogram(
    "digits_retrain_job_duration_seconds",
    "Time from a retrain job's start (or queueing) to its end, by outcome.",
    ["outcome"],
    buckets=RETRAIN_BUCKETS,
)

# Timing the intake as a decorator keeps the service itself free of metric code.
preprocessing_timed = PREPROCESSING_SECONDS.time()


def _verdict(submission: Submission) -> str:
    if submission.is_digit is None:
        return "unchecked"  # the version that answered has no detector
    return "digit" if submission.is_digit else (submission.reason or "not_a_digit")


def predictions_record(*, submissions: Sequence[Submission]) -> None:
    """Count predicted submissions and log one line each: version, kind, answer, confidence, verdict, milliseconds.

    A number is one prediction of kind `number`, with the whole number's confidence.
    """
    for submission in submissions:
        kind = submission.kind
        answer = submission.number if kind == "number" else submission.predicted_digit
        version, verdict, ms = str(submission.model_version.number), _verdict(submission), submission.inference_ms
        PREDICTIONS.labels(version, kind, verdict).inc()
        CONFIDENCE.labels(version, kind).observe(submission.confidence)
        INFERENCE_SECONDS.labels(version).observe(ms / 1000)
        logger.info(
            "Predicted submission %s: %s (%.3f, %s) by v%s in %.3f ms",
            submission.pk,
            answer,
            submission.confidence,
            verdict,
            version,
            ms,
            extra={
                "event": "prediction",
                "submission_id": submission.pk,
                "model_version": submission.model_version.number,
                "kind": kind,
                "digit": submission.predicted_digit,
                "number": submission.number,
                "confidence": round(submission.confidence, 5),
                "verdict": verdict,
                "ms": ms,
            },
        )


def correction_record(*, submission: Submission) -> None:
    """Count a new correction against the model version whose answer it corrects."""
    version = submission.model_version
    CORRECTIONS.labels("none" if version is None else str(version.number)).inc()


def retrain_job_record(*, job: RetrainJob) -> None:
    """Count a finished retrain job by its outcome, and how long it took."""
    if job.state == job.State.FAILED:
        outcome = "failed"
    else:
        promoted = job.result_version is not None and job.result_version.state == job.result_version.State.ACTIVE
        outcome = "promoted" if promoted else "rejected"
    RETRAIN_JOBS.labels(outcome).inc()
    began = job.started_at or job.created_at
    if began and job.finished_at:
        RETRAIN_SECONDS.labels(outcome).observe(max(0.0, (job.finished_at - began).total_seconds()))


class ProductCollector(Collector):
    """Levels read from the database when Prometheus scrapes: the same in every process, so read once."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from recognizer.selectors.corrections import corrections_review_backlog_count
        from recognizer.selectors.submissions import submissions_pending_count

        yield GaugeMetricFamily(
            "digits_review_backlog",
            "Corrections waiting for an admin's review.",
            value=corrections_review_backlog_count(),
        )
        yield GaugeMetricFamily(
            "digits_submissions_pending", "Submissions waiting for their prediction.", value=submissions_pending_count()
        )
