"""Retraining services, the staff API and the commands, run in-process (no broker)."""

from __future__ import annotations

import shutil
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from recognizer.models import Correction, ModelVersion, RetrainJob
from recognizer.selectors.model_versions import model_version_active
from recognizer.services.corrections import correction_digits_review, correction_number_set, correction_set
from recognizer.services.model_versions import (
    model_version_activate,
    model_version_ensure_active,
    model_version_register,
)
from recognizer.services.retraining import retrain_job_run, retrain_job_start, retrain_start_if_due
from tests.celery.corrections import accepted_corrections
from tests.factories import NumberSubmissionFactory, SubmissionFactory

SMALL_RETRAIN = {"RETRAIN_EPOCHS": 1, "RETRAIN_REPLAY_IMAGES": 300}


@pytest.fixture
def small_retrain(settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, **SMALL_RETRAIN}


def test_start_queues_one_job_and_refuses_a_second(user, active_version):
    accepted_corrections(owner=user, count=20)

    job = retrain_job_start(trigger="api", requested_by=user)

    assert job.state == RetrainJob.State.QUEUED and job.in_flight
    assert "Queued by alice" in job.log
    with pytest.raises(ValidationError) as refused:
        retrain_job_start(trigger="api", requested_by=user)
    assert refused.value.code == "retrain_in_progress"


def test_start_refuses_without_accepted_corrections(user, active_version):
    SubmissionFactory(owner=user)

    with pytest.raises(ValidationError) as refused:
        retrain_job_start(trigger="api")

    assert refused.value.code == "not_enough_corrections"
    assert not RetrainJob.objects.exists()


def test_a_job_abandoned_by_a_dead_worker_does_not_block_the_next(user, active_version):
    accepted_corrections(owner=user, count=20)
    stale = retrain_job_start(trigger="api")
    RetrainJob.objects.filter(pk=stale.pk).update(state=RetrainJob.State.RUNNING, created_at="2020-01-01T00:00Z")

    job = retrain_job_start(trigger="api")

    stale.refresh_from_db()
    assert stale.state == RetrainJob.State.FAILED and "Abandoned" in stale.error
    assert job.in_flight


def test_running_a_finished_job_again_changes_nothing(user, active_version):
    accepted_corrections(owner=user, count=20)
    job = retrain_job_start(trigger="api")
    RetrainJob.objects.filter(pk=job.pk).update(state=RetrainJob.State.FAILED, in_flight=None, error="earlier")

    again = retrain_job_run(job_id=job.pk)

    assert again.state == RetrainJob.State.FAILED and again.error == "earlier"
    assert ModelVersion.objects.count() == 1


def test_enough_accepted_corrections_start_a_retrain_automatically(
    settings, user, active_version, django_capture_on_commit_callbacks
):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "AUTO_ACCEPT_CORRECTIONS": True, "RETRAIN_AFTER_ACCEPTED": 10}
    submissions = [SubmissionFactory(owner=user) for _ in range(30)]

    for submission in submissions:
        with django_capture_on_commit_callbacks() as callbacks:
            correction_set(submission=submission, label=(submission.predicted_digit + 1) % 10, user=user)
        for callback in callbacks:  # what the commit would run; the retrain task itself is not sent
            callback()

    job = RetrainJob.objects.get()
    assert job.trigger == "auto" and job.in_flight
    assert Correction.objects.filter(review_state=Correction.Review.ACCEPTED).count() == 30


def test_not_a_digit_corrections_count_towards_an_automatic_retrain_when_a_detector_learns_them(
    settings, user, staff_user, active_version
):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "RETRAIN_AFTER_ACCEPTED": 5}
    accepted_corrections(owner=user, count=5)
    Correction.objects.update(held_out=False)
    Correction.objects.filter(pk=Correction.objects.order_by("pk").first().pk).update(held_out=True)
    not_a_digit = correction_set(submission=SubmissionFactory(owner=user), label=None)
    Correction.objects.filter(pk=not_a_digit.pk).update(review_state=Correction.Review.ACCEPTED, held_out=False)
    assert active_version.detector  # the shipped model has one

    ModelVersion.objects.filter(pk=active_version.pk).update(detector="")
    assert retrain_start_if_due() is None  # 4 digits wait; the not-a-digit one has no detector to teach
    ModelVersion.objects.filter(pk=active_version.pk).update(detector=active_version.detector)
    job = retrain_start_if_due()

    assert job is not None and job.trigger == RetrainJob.Trigger.AUTO


def test_api_starts_a_job_for_staff_only(client, user, staff_user, active_version):
    accepted_corrections(owner=user, count=20)
    client.force_login(user)
    assert client.post("/api/v1/models/retrain/").status_code == 403
    client.force_login(staff_user)

    response = client.post("/api/v1/models/retrain/")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "queued" and body["trigger"] == "api" and body["requested_by"] == "admin"
    assert response["Location"].endswith(f"/api/v1/models/retrain/{body['id']}/")
    followed = client.get(f"/api/v1/models/retrain/{body['id']}/")
    assert followed.status_code == 200 and followed.json()["stage"] == "queued"
    second = client.post("/api/v1/models/retrain/")
    assert second.status_code == 409 and second.json()["code"] == "retrain_in_progress"
    assert client.get("/api/v1/models/retrain/999999/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_retrain_runs_in_a_thread_and_the_request_answers_at_once(settings, client):
    from tests.factories import UserFactory

    settings.RECOGNIZER = {**settings.RECOGNIZER, **SMALL_RETRAIN, "RETRAIN_IN_BACKGROUND": True}
    model_version_ensure_active()
    accepted_corrections(owner=UserFactory(), count=40, style="outlined")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post("/api/v1/models/retrain/")

    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert any(thread.name == f"retrain-job-{job_id}" for thread in threading.enumerate())
    assert RetrainJob.objects.get(pk=job_id).in_flight
    deadline = time.monotonic() + 600  # a bound on a hang, not a speed check
    while RetrainJob.objects.get(pk=job_id).in_flight and time.monotonic() < deadline:
        time.sleep(0.5)
    job = RetrainJob.objects.get(pk=job_id)
    assert job.state == RetrainJob.State.SUCCEEDED, job.log + job.error
    assert job.result_version is not None and "Registered v2" in job.log


def test_retrain_model_command_trains_gates_and_prints_progress(small_retrain, user, active_version):
    corrections = accepted_corrections(owner=user, count=40, style="outlined")
    out = StringIO()

    call_command("retrain_model", stdout=out)

    job = RetrainJob.objects.get()
    version = job.result_version
    text = out.getvalue()
    assert job.state == RetrainJob.State.SUCCEEDED and not job.in_flight
    assert "Epoch 1/1" in text and "Gate " in text and f"Job {job.pk} done" in text
    assert version.parent == active_version and version.gate_passed is not None
    assert version.mnist_accuracy is not None and version.holdout_accuracy is not None
    assert version.metrics["parent"]["mnist"]["count"] == version.metrics["mnist"]["count"]
    assert job.progress["epoch"] == 1 and job.progress["stage"] == "done"
    trained = Correction.objects.filter(trained_in=version).count()
    assert 0 < trained < len(corrections)  # the held-out part was not trained on
    expected = ModelVersion.State.ACTIVE if version.gate_passed else ModelVersion.State.REJECTED
    assert version.state == expected
    assert Path(version.artifact.path).is_file()
    # Calibrated on the MNIST validation images, and measured beside its parent for the gate.
    honesty = version.metrics["honesty"]
    assert version.temperature == honesty["temperature"] and 0.05 < version.temperature < 20
    assert honesty["ece"] <= honesty["ece_uncalibrated"] + 0.002 and honesty["parent_ece"] is not None
    if version.gate_passed:  # a passing verdict lists every measure; a failing one, what failed
        assert "calibration error" in version.gate_reason
    assert bool(version.detector) == bool(active_version.detector)  # the parent's detector goes on


def test_rollback_command_activates_an_earlier_version(active_version):
    second = model_version_register(
        artifact_path=Path(active_version.artifact.path), name="second", state=ModelVersion.State.ACTIVE
    )
    assert model_version_active() == second

    call_command("rollback_model", "--version", str(active_version.number), stdout=StringIO())

    assert model_version_active() == active_version
    second.refresh_from_db()
    assert second.state == ModelVersion.State.RETIRED


def test_rollback_refuses_a_rejected_version_unless_allowed(active_version, tmp_path):
    artifact = tmp_path / "model.keras"
    shutil.copy(active_version.artifact.path, artifact)
    rejected = model_version_register(artifact_path=artifact, state=ModelVersion.State.REJECTED)

    with pytest.raises(CommandError, match="rejected"):
        call_command("rollback_model", "--version", str(rejected.number), stdout=StringIO())
    assert model_version_active() == active_version

    call_command("rollback_model", "--version", str(rejected.number), "--allow-rejected", stdout=StringIO())
    assert model_version_active() == rejected


@pytest.mark.slow
def test_accepted_not_a_digit_corrections_teach_the_detector(small_retrain, user, active_version, tmp_path):
    from tests.factories import CorrectionFactory
    from training import outliers
    from training.detector import build_detector
    from training.preprocessing import pixels_to_bytes

    detector = tmp_path / "detector.keras"
    build_detector().save(detector)
    parent = model_version_activate(
        version=model_version_register(
            artifact_path=active_version.artifact.path, detector_path=detector, detector_threshold=0.3
        )
    )
    accepted_corrections(owner=user, count=40)
    letters = outliers.outlier_inputs("letters", 30, 5, styles="train")
    not_digits = [
        CorrectionFactory(
            submission=SubmissionFactory(owner=user, pixels=pixels_to_bytes(pixels), is_corrected=True),
            label=None,
            review_state=Correction.Review.ACCEPTED,
            held_out=False,
        )
        for pixels in letters
    ]
    # A number with two of its pieces marked not a digit (letters here) and one of those rejected by an admin:
    # the other marked piece teaches the detector like a single picture said to be not a digit.
    number = NumberSubmissionFactory(owner=user, number="2026")
    for position, pixels in ((1, letters[0]), (2, letters[1])):
        number.digits.filter(position=position).update(pixels=pixels_to_bytes(pixels))
    marked = correction_number_set(submission=number, number="26", not_digits=[1, 2])
    correction_digits_review(correction_id=marked.pk, rejected_digits=[2], reviewer=user)
    Correction.objects.filter(pk=marked.pk).update(held_out=False)

    job = retrain_job_run(job_id=retrain_job_start(trigger="api").pk)

    version = RetrainJob.objects.get(pk=job.pk).result_version
    assert version.detector and version.detector_sha256 != parent.detector_sha256
    assert version.detector_threshold is not None
    assert version.metrics["honesty"]["detector"]["not_digit_corrections"] == len(not_digits) + 1
    assert version.metrics["honesty"]["mnist_test_flagged"] is not None
    # Its detector and the parent's measured on the same generated non-digits, for the gate to compare.
    assert 0.0 <= version.metrics["honesty"]["parent_non_digits_flagged"] <= 1.0
    assert 0.0 <= version.metrics["honesty"]["non_digits_flagged"] <= 1.0
    assert Correction.objects.filter(pk__in=[c.pk for c in not_digits], trained_in=version).count() == len(not_digits)
    assert Correction.objects.get(pk=marked.pk).trained_in == version


def test_a_correction_relabelled_while_the_model_trains_is_still_to_learn(small_retrain, user, active_version):
    corrections = accepted_corrections(owner=user, count=40)
    trained = [c for c in corrections if not c.held_out]
    changed = trained[0]
    job = retrain_job_start(trigger="api")

    def on_log(message: str) -> None:
        if message.startswith("Gate "):  # after training, before the version is recorded
            correction_set(submission=changed.submission, label=(changed.label + 1) % 10)

    retrain_job_run(job_id=job.pk, on_log=on_log)

    version = RetrainJob.objects.get(pk=job.pk).result_version
    changed.refresh_from_db()
    assert changed.trained_in is None  # it learned the old label, not this one
    assert Correction.objects.filter(pk__in=[c.pk for c in trained[1:]], trained_in=version).count() == len(trained) - 1


def test_with_too_little_time_left_the_detector_is_kept_and_its_pictures_wait(user, active_version, tmp_path):
    from recognizer.inference import local_detector_path
    from recognizer.services.retraining import DETECTOR_REFINE_SECONDS, _detector, _training_data

    corrections = accepted_corrections(owner=user, count=10)
    # Which corrections judge comes from a hash of the ids, which PostgreSQL's sequences do not repeat: choose here.
    Correction.objects.filter(pk__in=[c.pk for c in corrections]).update(held_out=False)
    Correction.objects.filter(pk=corrections[0].pk).update(held_out=True)
    not_a_digit = correction_set(submission=SubmissionFactory(owner=user), label=None)
    Correction.objects.filter(pk=not_a_digit.pk).update(review_state=Correction.Review.ACCEPTED, held_out=False)
    messages = []

    kept = _detector(
        active_version, _training_data()[0], tmp_path, seconds_left=DETECTOR_REFINE_SECONDS - 1, log=messages.append
    )

    assert kept.path == local_detector_path(active_version) and kept.threshold == active_version.detector_threshold
    assert kept.trained_ids == [] and not kept.report
    assert "wait for the next retraining" in messages[0]
