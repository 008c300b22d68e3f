"""Tasks: thin wrappers that retry, then record a failure instead of losing it."""

from __future__ import annotations

import pytest

from recognizer import tasks
from recognizer.models import Submission
from recognizer.services.model_versions import model_version_activate, model_version_register
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def test_the_prediction_task_predicts_and_is_safe_to_run_twice(user, active_version):
    submission = SubmissionFactory(owner=user, status=Submission.Status.PENDING, predicted_digit=None)
    tasks.submission_predict.apply(args=[submission.pk])
    submission.refresh_from_db()
    first = submission.predicted_at
    assert submission.status == Submission.Status.DONE
    assert submission.model_version == active_version
    assert submission.predicted_digit is not None
    tasks.submission_predict.apply(args=[submission.pk])
    submission.refresh_from_db()
    assert submission.predicted_at == first


def test_a_prediction_that_fails_on_its_last_try_is_recorded(user, active_version, tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a model")
    model_version_activate(version=model_version_register(artifact_path=broken, name="broken"))
    submissions = SubmissionFactory.create_batch(2, owner=user, status=Submission.Status.PENDING)
    # As the worker runs it after its retries are spent.
    with pytest.raises(ValueError):
        tasks.submissions_predict.apply(
            args=[[s.pk for s in submissions]], retries=tasks.PREDICT_OPTIONS["max_retries"]
        )
    for submission in submissions:
        submission.refresh_from_db()
        assert submission.status == Submission.Status.FAILED
        assert submission.error.startswith("Prediction failed")
