"""Retraining on a real worker: a new style is learned and promoted; wrong labels are rejected."""

from __future__ import annotations

import pytest

from recognizer.inference import LoadedModel, local_artifact_path
from recognizer.models import ModelVersion, RetrainJob, Submission
from recognizer.selectors.model_versions import model_version_active
from recognizer.selectors.retrain_jobs import retrain_job_get
from recognizer.services.retraining import retrain_job_start
from recognizer.services.submissions import submission_create
from tests.celery.conftest import wait_for
from tests.celery.corrections import accepted_corrections, style_examples
from tests.images import digit_png

pytestmark = pytest.mark.celery_worker

# Small enough for a shared 2-core machine; the worker reads these from its environment.
SMALL_RETRAIN = {"RECOGNIZER_RETRAIN_EPOCHS": "2", "RECOGNIZER_RETRAIN_REPLAY_IMAGES": "1000"}


def finished(job_id: int) -> RetrainJob | None:
    job = retrain_job_get(job_id=job_id)
    return job if not job.in_flight else None


def style_accuracy(version: ModelVersion, style: str) -> float:
    """Accuracy on examples of `style` that no correction was made from (the sample's test split)."""
    images, labels = style_examples(style, 300, split="test")
    probabilities = LoadedModel(local_artifact_path(version)).predict_probabilities(images)
    return float((probabilities.argmax(axis=1) == labels).mean())


def test_retraining_on_a_style_the_model_gets_wrong_learns_it_and_is_promoted(
    workers, user, staff_client, active_version
):
    accepted_corrections(owner=user, count=150, style="outlined")
    workers.start(env=SMALL_RETRAIN)
    before = submission_create(owner=user, image=digit_png(0), source="api")
    wait_for(lambda: Submission.objects.filter(pk=before.pk, model_version=active_version).exists())

    response = staff_client.post("/api/v1/models/retrain/")

    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    seen_stages = set()

    def done():
        body = staff_client.get(f"/api/v1/models/retrain/{job_id}/").json()
        seen_stages.add(body["stage"])
        return body if body["state"] in ("succeeded", "failed") else None

    body = wait_for(done, interval=0.5, message="the retraining")
    assert body["state"] == "succeeded", body["log"] + body["error"]
    assert "fine-tuning" in seen_stages or "Epoch 2/2" in body["log"]
    version = ModelVersion.objects.get(number=body["result_version"]["number"])
    assert version.gate_passed, version.gate_reason
    assert version.state == ModelVersion.State.ACTIVE
    assert model_version_active() == version
    assert version.parent == active_version
    parent_holdout = version.metrics["parent"]["holdout"]["accuracy"]
    assert version.holdout_accuracy > parent_holdout
    assert version.metrics["mnist"]["accuracy"] >= version.metrics["parent"]["mnist"]["accuracy"] - 0.001
    # On outlined digits no correction was made from, the new model is better too.
    assert style_accuracy(version, "outlined") > style_accuracy(active_version, "outlined") + 0.05
    assert body["progress"]["epoch"] == 2 and body["progress"]["metrics"]["holdout"]["accuracy"] > parent_holdout
    # The worker that predicted with v1 before switches to the new version without a restart.
    submission = submission_create(owner=user, image=digit_png(0), source="api")
    done = wait_for(lambda: Submission.objects.filter(pk=submission.pk, status="done").first(), message="prediction")
    assert done.model_version == version


def test_retraining_on_wrong_labels_is_rejected_and_the_active_model_stays(workers, user, active_version):
    accepted_corrections(owner=user, count=150, style="upright", wrong_labels=True)
    workers.start(env=SMALL_RETRAIN)

    job = retrain_job_start(trigger="api", requested_by=user)

    job = wait_for(lambda: finished(job.pk), interval=0.5, message="the retraining")
    assert job.state == RetrainJob.State.SUCCEEDED, job.log + job.error
    version = job.result_version
    assert version.state == ModelVersion.State.REJECTED and version.gate_passed is False
    assert "drop" in version.gate_reason or "not better" in version.gate_reason
    assert model_version_active() == active_version
    assert "rejected; the active model stays" in job.log
