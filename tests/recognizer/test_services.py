"""Services: the one write path shared by the pages, the API, the admin and the tasks."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from recognizer import services
from recognizer.models import Correction, ModelVersion, Submission
from tests.factories import CorrectionFactory, SubmissionFactory
from tests.images import blank_png, digit_png, sample_digit
from training.preprocessing import EmptyImage, ImageRejected, InvalidImage, UnsupportedFormat, bytes_to_pixels

pytestmark = pytest.mark.django_db


# --- submission_create -------------------------------------------------------


def test_submission_create_stores_the_image_and_input_and_predicts_it(user, active_version, create_submission):
    submission = create_submission(owner=user, image=digit_png(0), source="canvas")
    _, label = sample_digit(0)
    assert submission.status == Submission.Status.DONE
    assert submission.predicted_digit == label
    assert 0.5 < submission.confidence <= 1.0
    assert len(submission.probabilities) == 10
    assert abs(sum(submission.probabilities) - 1.0) < 1e-3
    assert submission.model_version == active_version
    assert submission.inference_ms > 0
    assert submission.image_content_type == "image/png"
    assert submission.image.storage.exists(submission.image.name)
    assert bytes_to_pixels(submission.pixels).shape == (28, 28)


@pytest.mark.parametrize("index", range(12))
def test_submission_create_recognizes_bundled_digits(user, active_version, index, create_submission):
    submission = create_submission(owner=user, image=digit_png(index), source="upload")
    assert submission.predicted_digit == sample_digit(index)[1]


def test_an_empty_drawing_is_refused_and_nothing_is_stored(user, active_version):
    with pytest.raises(EmptyImage) as caught:
        services.submission_create(owner=user, image=blank_png(), source="canvas")
    assert caught.value.code == "empty_image"
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", InvalidImage),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, InvalidImage),
        (b"plain text", UnsupportedFormat),
    ],
)
def test_bad_files_are_refused_with_a_code(user, data, error):
    with pytest.raises(error):
        services.submission_create(owner=user, image=data, source="upload")
    assert Submission.objects.count() == 0


def test_a_file_over_the_upload_limit_is_refused(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_UPLOAD_BYTES": 1000}
    with pytest.raises(ImageRejected) as caught:
        services.submission_create(owner=user, image=digit_png(0), source="upload")
    assert caught.value.code == "image_too_large"


def test_an_image_over_the_pixel_limit_is_refused(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_PIXELS": 100 * 100}
    with pytest.raises(ImageRejected) as caught:
        services.submission_create(owner=user, image=digit_png(0, size=280), source="upload")
    assert caught.value.code == "image_too_large"


def test_an_unknown_source_is_refused(user):
    with pytest.raises(ValidationError):
        services.submission_create(owner=user, image=digit_png(0), source="fax")


# --- batches and prediction -----------------------------------------------------


def test_a_batch_is_stored_and_predicted_together(user, active_version, committed):
    images = [digit_png(i) for i in range(5)]
    created = committed(services.submission_batch_create, owner=user, images=images, source="api")
    assert len(created) == 5
    rows = Submission.objects.filter(pk__in=[s.pk for s in created]).order_by("pk")
    assert [s.status for s in rows] == [Submission.Status.DONE] * 5
    assert [s.predicted_digit for s in rows] == [sample_digit(i)[1] for i in range(5)]


def test_a_batch_with_one_bad_image_stores_nothing_and_names_it(user):
    images = [digit_png(0), digit_png(1), blank_png()]
    with pytest.raises(EmptyImage) as caught:
        services.submission_batch_create(owner=user, images=images, source="api")
    assert caught.value.index == 2
    assert Submission.objects.count() == 0


def test_batches_are_limited(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_BATCH": 2}
    with pytest.raises(ValidationError):
        services.submission_batch_create(owner=user, images=[digit_png(0)] * 3, source="api")
    with pytest.raises(ValidationError):
        services.submission_batch_create(owner=user, images=[], source="api")


def test_predicting_twice_changes_nothing(user, active_version):
    submission = SubmissionFactory(owner=user, status=Submission.Status.PENDING, predicted_digit=None)
    first = services.submission_predict(submission_id=submission.pk)
    assert first is not None and first.status == Submission.Status.DONE
    stamp = first.predicted_at
    assert services.submission_predict(submission_id=submission.pk) is None
    submission.refresh_from_db()
    assert submission.predicted_at == stamp


def test_predicting_a_deleted_submission_is_a_quiet_no_op(active_version):
    assert services.submission_predict(submission_id=987654) is None


def test_submissions_wait_for_the_commit_before_they_are_predicted(user, active_version):
    # Without a commit nothing is sent: a worker must never see a row that is not there yet.
    submission = services.submission_create(owner=user, image=digit_png(3), source="canvas")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING


def test_prediction_uses_the_active_version(user, active_version, create_submission):
    submission = create_submission(owner=user, image=digit_png(3), source="canvas")
    assert submission.model_version_id == active_version.pk


def test_failing_marks_only_pending_submissions(user):
    pending = SubmissionFactory(owner=user, status=Submission.Status.PENDING)
    done = SubmissionFactory(owner=user)
    services.submission_fail(submission_id=pending.pk, error="model missing")
    services.submission_fail(submission_id=done.pk, error="model missing")
    pending.refresh_from_db()
    done.refresh_from_db()
    assert pending.status == Submission.Status.FAILED and pending.error == "model missing"
    assert done.status == Submission.Status.DONE and done.error == ""


def test_the_sweep_predicts_submissions_left_pending(user, active_version):
    # The sweep runs outside any request transaction; it dispatches at once.
    old = SubmissionFactory(
        owner=user,
        status=Submission.Status.PENDING,
        predicted_digit=None,
        created_at=timezone.now() - timedelta(minutes=10),
    )
    fresh = SubmissionFactory(owner=user, status=Submission.Status.PENDING, predicted_digit=None)
    assert services.submissions_sweep_pending(older_than_seconds=60) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == Submission.Status.DONE
    assert fresh.status == Submission.Status.PENDING


def test_delete_removes_the_row_and_the_file(user, active_version, django_capture_on_commit_callbacks):
    submission = services.submission_create(owner=user, image=digit_png(0), source="canvas")
    assert submission.image.storage.exists(submission.image.name)
    storage, name = submission.image.storage, submission.image.name
    with django_capture_on_commit_callbacks(execute=True):
        services.submission_delete(submission=submission)
    assert not Submission.objects.filter(pk=submission.pk).exists()
    assert not storage.exists(name)


# --- corrections ------------------------------------------------------------------


def test_correction_set_records_the_label_for_review(user):
    submission = SubmissionFactory(owner=user, predicted_digit=4)
    correction = services.correction_set(submission=submission, label=9, user=user)
    submission.refresh_from_db()
    assert correction.label == 9
    assert correction.review_state == Correction.Review.PENDING
    assert submission.is_corrected


def test_changing_a_correction_keeps_history_and_goes_back_to_review(user, staff_user):
    submission = SubmissionFactory(owner=user, predicted_digit=4)
    first = services.correction_set(submission=submission, label=9)
    services.corrections_review(correction_ids=[first.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    changed = services.correction_set(submission=submission, label=7)
    assert changed.pk == first.pk
    assert changed.label == 7
    assert changed.review_state == Correction.Review.PENDING
    assert changed.reviewed_by is None
    assert [entry["label"] for entry in changed.history] == [9]
    assert Correction.objects.count() == 1


def test_setting_the_same_label_again_changes_nothing(user):
    submission = SubmissionFactory(owner=user)
    services.correction_set(submission=submission, label=2)
    again = services.correction_set(submission=submission, label=2)
    assert again.history == []


@pytest.mark.parametrize("label", [-1, 10, "3", 2.0, True, None])
def test_correction_labels_must_be_digits(user, label):
    submission = SubmissionFactory(owner=user)
    with pytest.raises(ValidationError):
        services.correction_set(submission=submission, label=label)
    assert not Correction.objects.exists()


def test_corrections_can_be_accepted_automatically(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "AUTO_ACCEPT_CORRECTIONS": True, "RETRAIN_AFTER_ACCEPTED": 0}
    correction = services.correction_set(submission=SubmissionFactory(owner=user), label=1)
    assert correction.review_state == Correction.Review.ACCEPTED


def test_withdrawing_a_correction(user):
    correction = CorrectionFactory(submission__owner=user)
    submission = correction.submission
    services.correction_withdraw(submission=submission)
    submission.refresh_from_db()
    assert not submission.is_corrected
    assert not Correction.objects.exists()


def _waiting_for_review() -> set[int]:
    """Submissions whose flag says their correction waits, checked against the corrections themselves."""
    flagged = set(Submission.objects.filter(needs_review=True).values_list("pk", flat=True))
    pending = Correction.objects.filter(review_state=Correction.Review.PENDING)
    assert flagged == set(pending.values_list("submission_id", flat=True))
    return flagged


def test_the_review_flag_follows_every_change_of_a_correction(user, staff_user, settings):
    first, second, third = SubmissionFactory.create_batch(3, owner=user, predicted_digit=4)
    services.correction_set(submission=first, label=9)
    correction = services.correction_set(submission=second, label=8)
    assert _waiting_for_review() == {first.pk, second.pk}
    assert first.needs_review

    services.corrections_review(correction_ids=[correction.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    assert _waiting_for_review() == {first.pk}
    services.correction_set(submission=second, label=8)  # the same label: still accepted
    assert _waiting_for_review() == {first.pk}
    services.correction_set(submission=second, label=3)  # a new label goes back to review
    assert _waiting_for_review() == {first.pk, second.pk}
    services.corrections_review(correction_ids=[correction.pk], state=Correction.Review.REJECTED, reviewer=staff_user)
    services.corrections_review(correction_ids=[correction.pk], state=Correction.Review.PENDING, reviewer=staff_user)
    assert _waiting_for_review() == {first.pk, second.pk}

    services.correction_withdraw(submission=first)
    assert _waiting_for_review() == {second.pk}
    services.correction_set(submission=third, label=1)
    services.corrections_relabel(submission_ids=[second.pk, first.pk], label=5, reviewer=staff_user)
    assert _waiting_for_review() == {third.pk}
    services.submissions_reopen(submission_ids=[third.pk], reviewer=staff_user)
    assert _waiting_for_review() == set()

    settings.RECOGNIZER = {**settings.RECOGNIZER, "AUTO_ACCEPT_CORRECTIONS": True, "RETRAIN_AFTER_ACCEPTED": 0}
    services.correction_set(submission=third, label=2)
    assert _waiting_for_review() == set()


def test_the_review_queue_puts_waiting_corrections_first_then_the_least_sure(staff_user):
    from recognizer import selectors

    sure = SubmissionFactory(confidence=0.99)
    unsure = SubmissionFactory(confidence=0.41)
    pending = SubmissionFactory(status=Submission.Status.PENDING, confidence=None, predicted_digit=None)
    accepted = CorrectionFactory(submission__confidence=0.2, review_state=Correction.Review.ACCEPTED).submission
    waiting = CorrectionFactory(submission__confidence=0.95).submission
    order = list(selectors.submission_review_queue().values_list("pk", flat=True))
    assert order == [waiting.pk, accepted.pk, unsure.pk, sure.pk, pending.pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("staff_change", ["review", "reopen"])
def test_staff_changes_and_an_owners_correction_at_once_do_not_deadlock(staff_change):
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True)
    correction = CorrectionFactory()
    submission = correction.submission
    errors: list[Exception] = []

    def staff_acts() -> None:
        try:
            if staff_change == "review":
                services.corrections_review(correction_ids=[correction.pk], state="accepted", reviewer=staff)
            else:
                services.submissions_reopen(submission_ids=[submission.pk], reviewer=staff)
        except Exception as error:  # the assertion below shows it
            errors.append(error)
        finally:
            connection.close()

    # The owner's correction_set holds the submission and is about to change the correction, as staff act.
    with transaction.atomic():
        Submission.objects.select_for_update().get(pk=submission.pk)
        acting = threading.Thread(target=staff_acts)
        acting.start()
        acting.join(timeout=1.0)
        Correction.objects.filter(pk=correction.pk).update(label=(correction.label + 1) % 10)
    acting.join(timeout=60)
    assert not errors, errors


@pytest.mark.parametrize("service", ["review", "relabel", "reopen"])
def test_staff_services_lock_submissions_in_ascending_id_order(service, staff_user):
    from django.test.utils import CaptureQueriesContext

    corrections = CorrectionFactory.create_batch(3)
    submission_ids = [c.submission_id for c in reversed(corrections)]
    with CaptureQueriesContext(connection) as queries:
        if service == "review":
            services.corrections_review(
                correction_ids=[c.pk for c in corrections], state="accepted", reviewer=staff_user
            )
        elif service == "relabel":
            services.corrections_relabel(submission_ids=submission_ids, label=4, reviewer=staff_user)
        else:
            services.submissions_reopen(submission_ids=submission_ids, reviewer=staff_user)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "recognizer_submission"."id"')]
    # Two staff actions on overlapping rows must take them in the same order, or PostgreSQL deadlocks.
    assert reads and re.search(r'ORDER BY (1|"recognizer_submission"\."id") ASC( FOR UPDATE)?$', reads[0]), reads


def test_review_accepts_or_rejects_and_records_the_reviewer(staff_user):
    corrections = CorrectionFactory.create_batch(3)
    ids = [c.pk for c in corrections]
    assert services.corrections_review(correction_ids=ids[:2], state="accepted", reviewer=staff_user) == 2
    assert services.corrections_review(correction_ids=ids, state="accepted", reviewer=staff_user) == 1
    accepted = Correction.objects.filter(review_state=Correction.Review.ACCEPTED)
    assert accepted.count() == 3
    assert all(c.reviewed_by == staff_user and c.reviewed_at for c in accepted)
    with pytest.raises(ValidationError):
        services.corrections_review(correction_ids=ids, state="maybe", reviewer=staff_user)


# --- model versions -----------------------------------------------------------------


def test_activating_a_version_retires_the_previous_one(active_version, settings):
    newer = services.model_version_register(artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"], name="copy")
    assert newer.state == ModelVersion.State.CANDIDATE
    assert newer.number == active_version.number + 1
    services.model_version_activate(version=newer)
    active_version.refresh_from_db()
    assert active_version.state == ModelVersion.State.RETIRED
    assert ModelVersion.objects.get(state=ModelVersion.State.ACTIVE) == newer


def test_registered_versions_keep_their_metrics_and_file(active_version, settings):
    path = settings.RECOGNIZER["INITIAL_MODEL_PATH"]
    version = services.model_version_register(
        artifact_path=path, metrics={"mnist": {"accuracy": 0.99}}, state=ModelVersion.State.REJECTED
    )
    assert version.state == ModelVersion.State.REJECTED
    assert version.mnist_accuracy == 0.99
    assert version.artifact.name.startswith(f"models/v{version.number}-")
    with version.artifact.open("rb") as stored:
        assert stored.read() == path.read_bytes()


@pytest.mark.django_db(transaction=True)
def test_a_registration_that_loses_the_race_for_a_number_takes_the_next(settings):
    """On PostgreSQL the second insert fails and is retried; on SQLite (IMMEDIATE transactions) it waits its turn.

    CI runs the suite on both, so both ways are checked.
    """
    first = services.model_version_ensure_initial()
    outcome: dict[str, object] = {}

    def register() -> None:
        try:
            outcome["version"] = services.model_version_register(
                artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"], name="second"
            )
        except Exception as error:  # the assertion below shows it
            outcome["error"] = error
        finally:
            connection.close()

    # Another registration holds the next number, not yet committed, while this one starts.
    with transaction.atomic():
        ModelVersion.objects.create(number=first.number + 1, artifact="racer.keras", name="racer")
        racer = threading.Thread(target=register)
        racer.start()
        racer.join(timeout=1.5)
        assert racer.is_alive(), outcome
    racer.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["version"].number == first.number + 2
    assert sorted(ModelVersion.objects.values_list("number", flat=True)) == [1, 2, 3]


@pytest.mark.django_db(transaction=True)
def test_two_processes_registering_the_shipped_model_at_once_make_one_version(settings):
    ModelVersion.objects.all().delete()
    outcome: dict[str, object] = {}

    def second_process() -> None:
        try:
            outcome["version"] = services.model_version_ensure_initial()
        except Exception as error:  # the assertion below shows it
            outcome["error"] = error
        finally:
            connection.close()

    with transaction.atomic():
        first = services.model_version_ensure_initial()
        other = threading.Thread(target=second_process)
        other.start()
        other.join(timeout=1.0)
    other.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["version"].pk == first.pk
    assert list(ModelVersion.objects.values_list("number", "state")) == [(1, "active")]


def test_ensure_initial_is_idempotent(active_version):
    assert services.model_version_ensure_initial() == active_version
    assert ModelVersion.objects.count() == 1


def test_ensure_initial_reactivates_when_none_is_active(active_version):
    ModelVersion.objects.update(state=ModelVersion.State.RETIRED)
    assert services.model_version_ensure_initial().pk == active_version.pk
    assert ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE).count() == 1


def test_a_prediction_that_fails_is_recorded_and_the_submission_kept(user, active_version, create_submission, tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"this is not a keras model")
    services.model_version_activate(version=services.model_version_register(artifact_path=broken, name="broken"))
    submission = create_submission(owner=user, image=digit_png(0), source="api")
    assert submission.status == Submission.Status.FAILED
    assert submission.error.startswith("Prediction failed")
    assert submission.image.storage.exists(submission.image.name)
    # Once a good model is active again, the submission can still be predicted.
    services.model_version_activate(version=active_version)
    Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.PENDING)
    assert services.submission_predict(submission_id=submission.pk).predicted_digit == sample_digit(0)[1]
