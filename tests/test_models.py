import pytest
from django.db import IntegrityError, transaction

from recognizer.models import Correction, ModelVersion, RetrainJob, Submission
from tests.factories import CorrectionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def test_migrate_registers_the_shipped_model_as_the_one_active_version():
    active = ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE)
    assert active.count() == 1
    version = active.get()
    assert version.number == 1
    assert version.artifact.storage.exists(version.artifact.name)
    assert len(version.artifact_sha256) == 64


def test_a_second_active_version_is_refused_by_the_database(active_version):
    other = ModelVersion.objects.create(number=99, artifact="models/x.keras")
    other.state = ModelVersion.State.ACTIVE
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save()


def test_many_inactive_versions_may_coexist(active_version):
    for number in (10, 11, 12):
        ModelVersion.objects.create(number=number, artifact="m.keras", state=ModelVersion.State.RETIRED)
    assert ModelVersion.objects.filter(state=ModelVersion.State.RETIRED).count() == 3


def test_one_correction_per_submission():
    correction = CorrectionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Correction.objects.create(submission=correction.submission, label=3)


def test_correction_label_must_be_a_digit():
    submission = SubmissionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Correction.objects.create(submission=submission, label=10)


def test_predicted_digit_must_be_a_digit():
    with pytest.raises(IntegrityError), transaction.atomic():
        SubmissionFactory(predicted_digit=12)


def test_only_one_retrain_job_in_flight():
    RetrainJob.objects.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        RetrainJob.objects.create()
    RetrainJob.objects.update(in_flight=None, state=RetrainJob.State.SUCCEEDED)
    RetrainJob.objects.create()
    assert RetrainJob.objects.count() == 2


def test_deleting_a_user_deletes_their_submissions(user):
    SubmissionFactory.create_batch(3, owner=user)
    user.delete()
    assert Submission.objects.count() == 0


def test_pixels_are_stored_as_784_bytes():
    submission = SubmissionFactory()
    submission.refresh_from_db()
    assert len(bytes(submission.pixels)) == 784
