"""Submission services: intake, storing, predicting, sweeping, deleting."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recognizer.models import Submission, SubmissionDigit
from recognizer.services.model_versions import (
    model_version_activate,
    model_version_register,
)
from recognizer.services.submissions import (
    submission_batch_create,
    submission_create,
    submission_delete,
    submission_predict,
    submission_preview,
    submissions_fail,
    submissions_predict,
    submissions_sweep_pending,
)
from tests.factories import SubmissionFactory
from tests.images import blank_png, digit_png, number_png, sample_digit
from training.preprocessing import EmptyImage, ImageRejected, InvalidImage, UnsupportedFormat, bytes_to_pixels

pytestmark = pytest.mark.django_db


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
        submission_create(owner=user, image=blank_png(), source="canvas")
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
        submission_create(owner=user, image=data, source="upload")
    assert Submission.objects.count() == 0


def test_a_file_over_the_upload_limit_is_refused(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_UPLOAD_BYTES": 1000}
    with pytest.raises(ImageRejected) as caught:
        submission_create(owner=user, image=digit_png(0), source="upload")
    assert caught.value.code == "image_too_large"


def test_an_image_over_the_pixel_limit_is_refused(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_PIXELS": 100 * 100}
    with pytest.raises(ImageRejected) as caught:
        submission_create(owner=user, image=digit_png(0, size=280), source="upload")
    assert caught.value.code == "image_too_large"


def test_an_unknown_source_is_refused(user):
    with pytest.raises(ValidationError):
        submission_create(owner=user, image=digit_png(0), source="fax")


def test_a_batch_is_stored_and_predicted_together(user, active_version, committed):
    images = [digit_png(i) for i in range(5)]
    created = committed(submission_batch_create, owner=user, images=images, source="api")
    assert len(created) == 5
    rows = Submission.objects.filter(pk__in=[s.pk for s in created]).order_by("pk")
    assert [s.status for s in rows] == [Submission.Status.DONE] * 5
    assert [s.predicted_digit for s in rows] == [sample_digit(i)[1] for i in range(5)]


def test_a_batch_with_one_bad_image_stores_nothing_and_names_it(user):
    images = [digit_png(0), digit_png(1), blank_png()]
    with pytest.raises(EmptyImage) as caught:
        submission_batch_create(owner=user, images=images, source="api")
    assert caught.value.index == 2
    assert Submission.objects.count() == 0


def test_batches_are_limited(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_BATCH": 2}
    with pytest.raises(ValidationError):
        submission_batch_create(owner=user, images=[digit_png(0)] * 3, source="api")
    with pytest.raises(ValidationError):
        submission_batch_create(owner=user, images=[], source="api")


def test_predicting_twice_changes_nothing(user, active_version):
    submission = SubmissionFactory(owner=user, status=Submission.Status.PENDING, predicted_digit=None)
    first = submission_predict(submission_id=submission.pk)
    assert first is not None and first.status == Submission.Status.DONE
    stamp = first.predicted_at
    assert submission_predict(submission_id=submission.pk) is None
    submission.refresh_from_db()
    assert submission.predicted_at == stamp


def test_predicting_a_deleted_submission_is_a_quiet_no_op(active_version):
    assert submission_predict(submission_id=987654) is None


def test_submissions_wait_for_the_commit_before_they_are_predicted(user, active_version, with_workers):
    # Without a commit nothing is sent: a worker must never see a row that is not there yet.
    submission = submission_create(owner=user, image=digit_png(3), source="canvas")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING


def test_prediction_uses_the_active_version(user, active_version, create_submission):
    submission = create_submission(owner=user, image=digit_png(3), source="canvas")
    assert submission.model_version_id == active_version.pk


def test_failing_marks_only_pending_submissions(user):
    pending = SubmissionFactory(owner=user, status=Submission.Status.PENDING)
    done = SubmissionFactory(owner=user)
    submissions_fail(submission_ids=[pending.pk], error="model missing")
    submissions_fail(submission_ids=[done.pk], error="model missing")
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
    assert submissions_sweep_pending(older_than_seconds=60) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == Submission.Status.DONE
    assert fresh.status == Submission.Status.PENDING


def test_delete_removes_the_row_and_the_file(user, active_version, django_capture_on_commit_callbacks):
    submission = submission_create(owner=user, image=digit_png(0), source="canvas")
    assert submission.image.storage.exists(submission.image.name)
    storage, name = submission.image.storage, submission.image.name
    with django_capture_on_commit_callbacks(execute=True):
        submission_delete(submission=submission)
    assert not Submission.objects.filter(pk=submission.pk).exists()
    assert not storage.exists(name)


def test_a_prediction_that_fails_is_recorded_and_the_submission_kept(user, active_version, create_submission, tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"this is not a keras model")
    model_version_activate(version=model_version_register(artifact_path=broken, name="broken"))
    submission = create_submission(owner=user, image=digit_png(0), source="api")
    assert submission.status == Submission.Status.FAILED
    assert submission.error.startswith("Prediction failed")
    assert submission.image.storage.exists(submission.image.name)
    # Once a good model is active again, the submission can still be predicted.
    model_version_activate(version=active_version)
    Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.PENDING)
    assert submission_predict(submission_id=submission.pk).predicted_digit == sample_digit(0)[1]


def _writes(queries) -> list[str]:
    skipped = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")
    return [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith(skipped)]


def test_without_workers_a_submission_is_predicted_then_stored_in_one_insert(user, active_version):
    with CaptureQueriesContext(connection) as queries:
        submission = submission_create(owner=user, image=digit_png(0), source="canvas")
    writes = _writes(queries)
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "recognizer_submission"'), writes
    stored = Submission.objects.get(pk=submission.pk)
    assert (stored.status, stored.predicted_digit) == (Submission.Status.DONE, sample_digit(0)[1])
    assert stored.model_version == active_version and stored.predicted_at is not None
    # Written once, as received.
    assert stored.image.read() == digit_png(0)


def test_a_batch_without_workers_is_stored_predicted_in_one_insert(user, active_version):
    with CaptureQueriesContext(connection) as queries:
        created = submission_batch_create(owner=user, images=[digit_png(3), digit_png(4)], source="api")
    assert len(_writes(queries)) == 1
    stored = Submission.objects.filter(pk__in=[s.pk for s in created]).order_by("pk")
    assert [s.predicted_digit for s in stored] == [sample_digit(3)[1], sample_digit(4)[1]]


def _media_files(root) -> set[str]:
    return {os.path.join(folder, name) for folder, _dirs, names in os.walk(root) for name in names}


def test_a_preview_predicts_like_a_submission_and_stores_nothing(user, active_version, settings):
    files_before = _media_files(settings.MEDIA_ROOT)
    with CaptureQueriesContext(connection) as queries:
        preview = submission_preview(owner=user, image=digit_png(0), source="canvas")
    assert _writes(queries) == []
    assert preview.pk is None and not preview.image
    assert (preview.status, preview.predicted_digit) == (Submission.Status.DONE, sample_digit(0)[1])
    assert not Submission.objects.exists()
    assert _media_files(settings.MEDIA_ROOT) == files_before


def test_a_preview_refuses_what_a_submission_refuses(user, active_version):
    with pytest.raises(EmptyImage):
        submission_preview(owner=user, image=blank_png(), source="canvas")
    with pytest.raises(ValidationError):
        submission_preview(owner=user, image=digit_png(0), source="fax")


def test_a_preview_is_predicted_here_even_with_workers(user, active_version, with_workers):
    assert submission_preview(owner=user, image=digit_png(0), source="api").status == Submission.Status.DONE


# Numbers.


def test_a_number_is_stored_with_one_row_per_digit_and_read_left_to_right(user, active_version, create_submission):
    submission = create_submission(owner=user, image=number_png("2026"), source="upload", kind="number")
    assert submission.kind == Submission.Kind.NUMBER
    assert submission.status == Submission.Status.DONE
    assert submission.number == "2026"
    assert submission.predicted_digit is None and submission.probabilities is None
    digits = list(submission.digits.order_by("position"))
    assert [d.position for d in digits] == [0, 1, 2, 3]
    assert "".join(str(d.predicted_digit) for d in digits) == "2026"
    assert all(bytes_to_pixels(d.pixels).shape == (28, 28) for d in digits)
    assert all(len(d.probabilities) == 10 for d in digits)
    # Boxes in the picture's pixels, left to right and apart.
    lefts = [d.x for d in digits]
    assert lefts == sorted(lefts) and all(d.x + d.width <= e.x for d, e in zip(digits, digits[1:], strict=False))
    # The whole number is right only when every digit is.
    expected = 1.0
    for d in digits:
        expected *= d.confidence
    assert submission.confidence == pytest.approx(expected)
    assert submission.confidence <= min(d.confidence for d in digits)
    assert submission.image.storage.exists(submission.image.name)


@pytest.mark.parametrize("digits", ["0427", "58", "93840"])
def test_numbers_keep_every_digit_and_leading_zeros(user, active_version, digits):
    submission = submission_create(owner=user, image=number_png(digits), source="api", kind="number")
    assert submission.number == digits


def test_a_number_is_stored_with_its_digits_in_one_transaction(user, active_version):
    with CaptureQueriesContext(connection) as queries:
        submission = submission_create(owner=user, image=number_png("58"), source="api", kind="number")
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2  # the submission, then its digits in one statement
    assert submission.digits.count() == 2


def test_a_number_with_more_than_16_digits_is_refused_and_nothing_is_stored(user, active_version):
    with pytest.raises(ImageRejected) as caught:
        submission_create(owner=user, image=number_png("23456789023456789"), source="api", kind="number")
    assert caught.value.code == "too_many_digits"
    assert Submission.objects.count() == 0


def test_a_blank_number_is_refused(user, active_version):
    with pytest.raises(EmptyImage):
        submission_create(owner=user, image=blank_png(), source="canvas", kind="number")
    assert Submission.objects.count() == 0


def test_numbers_get_the_same_size_checks_as_digits(user, active_version, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_UPLOAD_BYTES": 1000}
    with pytest.raises(ImageRejected) as caught:
        submission_create(owner=user, image=number_png("2026"), source="api", kind="number")
    assert caught.value.code == "image_too_large"


def test_an_unknown_kind_is_refused(user):
    with pytest.raises(ValidationError) as caught:
        submission_create(owner=user, image=digit_png(0), source="api", kind="word")
    assert caught.value.code == "invalid_kind"


def test_with_workers_a_number_is_stored_pending_with_its_digits_and_a_worker_reads_it_once(
    user, active_version, with_workers
):
    submission = submission_create(owner=user, image=number_png("2026"), source="api", kind="number")
    assert submission.status == Submission.Status.PENDING and submission.number is None
    assert submission.digits.count() == 4
    assert set(submission.digits.values_list("predicted_digit", flat=True)) == {None}
    first = submission_predict(submission_id=submission.pk)
    assert first.number == "2026" and first.status == Submission.Status.DONE
    stamp = first.predicted_at
    assert submission_predict(submission_id=submission.pk) is None  # a second run changes nothing
    submission.refresh_from_db()
    assert submission.predicted_at == stamp and submission.number == "2026"
    assert "".join(str(d) for d in submission.digits.values_list("predicted_digit", flat=True)) == "2026"


def test_digits_and_numbers_are_predicted_in_one_batch(user, active_version, with_workers, monkeypatch):
    from recognizer.inference import engine

    digit = submission_create(owner=user, image=digit_png(0), source="api")
    number = submission_create(owner=user, image=number_png("58"), source="api", kind="number")
    calls = []
    original = engine.predict
    monkeypatch.setattr(engine, "predict", lambda **kw: calls.append(len(kw["pixels"])) or original(**kw))
    done = submissions_predict(submission_ids=[digit.pk, number.pk])
    assert calls == [3]
    assert {s.pk: s.number or s.predicted_digit for s in done} == {digit.pk: sample_digit(0)[1], number.pk: "58"}


def test_a_number_preview_reads_it_and_stores_nothing(user, active_version, with_workers):
    preview = submission_preview(owner=user, image=number_png("2026"), source="canvas", kind="number")
    assert preview.number == "2026" and preview.pk is None
    assert [row.predicted_digit for row in preview.digit_rows] == [2, 0, 2, 6]
    assert Submission.objects.count() == 0


def test_deleting_a_number_deletes_its_digits(user, active_version):
    submission = submission_create(owner=user, image=number_png("58"), source="api", kind="number")
    submission_delete(submission=submission)
    assert SubmissionDigit.objects.count() == 0


def test_a_new_submission_is_inserted_as_save_would_insert_it(user, active_version):
    from django.db.models.signals import post_save

    from recognizer.services import submissions as service

    original = service._submission_build(owner=user, data=digit_png(0), source="canvas")[0]
    service._submissions_predict_unsaved([(original, None)])
    original.image.name = "submissions/2026/12/03/same.png"
    fields = [field.attname for field in Submission._meta.concrete_fields if not field.primary_key]

    def built() -> Submission:
        return Submission(**{name: getattr(original, name) for name in fields})

    saved, inserted = built(), built()
    saved.save(force_insert=True)
    with CaptureQueriesContext(connection) as queries:
        service._submission_insert(inserted)

    assert len(queries) == 1 and queries[0]["sql"].startswith('INSERT INTO "recognizer_submission"')
    assert inserted.pk == saved.pk + 1 and not inserted._state.adding and inserted._state.db == "default"
    columns = [name for name in fields if name != "updated_at"]  # auto_now: the time of each save
    rows = {row["id"]: row for row in Submission.objects.filter(pk__in=[saved.pk, inserted.pk]).values("id", *columns)}
    assert {k: v for k, v in rows[inserted.pk].items() if k != "id"} == {
        k: v for k, v in rows[saved.pk].items() if k != "id"
    }

    # Should something listen to a submission's save, it hears of this one too.
    heard = []

    def listener(sender, instance, created, **kwargs):
        heard.append((instance, created))

    post_save.connect(listener, sender=Submission)
    try:
        listened = built()
        service._submission_insert(listened)
    finally:
        post_save.disconnect(listener, sender=Submission)
    assert heard == [(listened, True)]
