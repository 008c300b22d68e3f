"""The product's metrics move with what the services do, under the right labels."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from recognizer import metrics
from recognizer.models import ModelVersion, RetrainJob, Submission
from recognizer.services.corrections import correction_set
from recognizer.services.model_versions import model_version_activate, model_version_register
from recognizer.services.retraining import retrain_job_fail
from recognizer.services.submissions import submission_batch_create
from tests.factories import CorrectionFactory, ModelVersionFactory, RetrainJobFactory, SubmissionFactory
from tests.images import blank_png, digit_png

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def predictions(version: str, verdict: str) -> float:
    return sample("digits_predictions_total", version=version, kind="digit", verdict=verdict)


def test_predictions_are_counted_by_version_and_verdict_with_their_confidence_and_time(
    user, active_version, committed, caplog
):
    caplog.set_level(logging.INFO, logger="recognizer.metrics")
    version = str(active_version.number)
    before = {
        "digit": predictions(version, "digit"),
        "confidence": sample("digits_prediction_confidence_count", version=version, kind="digit"),
        "confident": sample("digits_prediction_confidence_bucket", version=version, kind="digit", le="0.3"),
        "inference": sample("digits_inference_seconds_count", version=version),
    }

    done = committed(submission_batch_create, owner=user, images=[digit_png(i) for i in range(5)], source="api")

    rows = list(Submission.objects.filter(pk__in=[s.pk for s in done]))
    assert {row.is_digit for row in rows} == {True}  # the shipped detector sees digits
    assert predictions(version, "digit") == before["digit"] + 5
    assert sample("digits_prediction_confidence_count", version=version, kind="digit") == before["confidence"] + 5
    assert sample("digits_inference_seconds_count", version=version) == before["inference"] + 5
    low = sum(row.confidence <= 0.3 for row in rows)
    assert sample("digits_prediction_confidence_bucket", version=version, kind="digit", le="0.3") == (
        before["confident"] + low
    )
    lines = [record for record in caplog.records if getattr(record, "event", None) == "prediction"]
    assert sorted(line.submission_id for line in lines) == sorted(row.pk for row in rows)
    for line in lines:
        row = next(row for row in rows if row.pk == line.submission_id)
        assert (line.model_version, line.digit, line.verdict) == (active_version.number, row.predicted_digit, "digit")
        assert line.confidence == pytest.approx(row.confidence, abs=1e-5)
        assert line.ms == row.inference_ms


def test_a_flagged_prediction_is_counted_under_its_reason_and_its_version(user, active_version, committed, settings):
    # The shipped detector with a threshold no picture reaches: every answer is "not a digit" or "several digits".
    strict = model_version_activate(
        version=model_version_register(
            artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"],
            detector_path=settings.RECOGNIZER["INITIAL_DETECTOR_PATH"],
            detector_threshold=1.01,
        )
    )
    version = str(strict.number)
    before = {reason: predictions(version, reason) for reason in ("not_a_digit", "several_digits", "digit")}

    done = committed(submission_batch_create, owner=user, images=[digit_png(i) for i in range(4)], source="api")

    reasons = list(Submission.objects.filter(pk__in=[s.pk for s in done]).values_list("reason", flat=True))
    assert set(reasons) <= {"not_a_digit", "several_digits"}
    for reason in ("not_a_digit", "several_digits"):
        assert predictions(version, reason) == before[reason] + reasons.count(reason)
    assert predictions(version, "digit") == before["digit"]


def test_preprocessing_is_timed_for_every_picture_rejected_ones_too(user, active_version, committed):
    before = sample("digits_preprocessing_seconds_count")

    committed(submission_batch_create, owner=user, images=[digit_png(1), digit_png(2)], source="api")
    with pytest.raises(Exception, match="."):
        committed(submission_batch_create, owner=user, images=[blank_png()], source="api")

    assert sample("digits_preprocessing_seconds_count") == before + 3


def test_a_new_correction_is_counted_against_the_version_that_answered(user, committed):
    version = ModelVersionFactory()
    submission = SubmissionFactory(owner=user, model_version=version, predicted_digit=3)
    before = sample("digits_corrections_total", version=str(version.number))

    committed(correction_set, submission=submission, label=8, user=user)
    committed(correction_set, submission=submission, label=9, user=user)  # a change of mind is not a new one

    assert sample("digits_corrections_total", version=str(version.number)) == before + 1


def test_retrain_jobs_are_counted_by_outcome_with_their_duration(active_version):
    def count(outcome: str) -> float:
        return sample("digits_retrain_jobs_total", outcome=outcome)

    def seconds(outcome: str) -> float:
        return sample("digits_retrain_job_duration_seconds_sum", outcome=outcome)

    before = {o: (count(o), seconds(o)) for o in ("failed", "promoted", "rejected")}
    started = timezone.now() - timedelta(seconds=90)
    queued = RetrainJobFactory(state=RetrainJob.State.RUNNING, in_flight=True, started_at=started, finished_at=None)

    retrain_job_fail(job_id=queued.pk, error="The task queue could not be reached")
    for version in (active_version, ModelVersionFactory(state=ModelVersion.State.REJECTED)):
        metrics.retrain_job_record(job=RetrainJobFactory(result_version=version, started_at=started))

    for outcome in ("failed", "promoted", "rejected"):
        assert count(outcome) == before[outcome][0] + 1
        assert seconds(outcome) - before[outcome][1] == pytest.approx(90, abs=5)


def test_backlog_and_pending_are_read_when_prometheus_scrapes(client, settings):
    settings.METRICS_TOKEN = TOKEN
    CorrectionFactory.create_batch(3)
    CorrectionFactory(review_state="accepted")
    SubmissionFactory.create_batch(2, status=Submission.Status.PENDING, predicted_digit=None)

    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert "\ndigits_review_backlog 3.0\n" in text
    assert "\ndigits_submissions_pending 2.0\n" in text
