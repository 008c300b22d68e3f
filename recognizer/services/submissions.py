"""Submissions: store images, record their predictions, delete them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connections, router, transaction
from django.db.models import signals as model_signals
from django.db.models.sql import InsertQuery
from django.utils import timezone

from recognizer import conf, dispatch, metrics, wake
from recognizer.models import ModelVersion, Submission, SubmissionDigit
from recognizer.selectors.submissions import submissions_stale_pending
from recognizer.services.files import file_write, files_removed_on_error
from recognizer.services.intake import PreparedImage, image_prepare, number_prepare
from recognizer.services.model_versions import model_version_ensure_active_cached
from training.preprocessing import ImageRejected, bytes_to_pixels, pixels_to_bytes

if TYPE_CHECKING:
    from recognizer.inference import Prediction

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 1000
SWEEP_BATCH = 64
# What predicting writes on a submission, and on each digit of a number.
PREDICTION_FIELDS = (
    "status",
    "predicted_digit",
    "number",
    "confidence",
    "probabilities",
    "model_version",
    "inference_ms",
    "is_digit",
    "reason",
    "predicted_at",
    "updated_at",
    "error",
)
# The INSERT of a submission per database (`_submission_insert`).
_INSERT_STATEMENTS: dict[tuple, tuple[str, tuple]] = {}
DIGIT_PREDICTION_FIELDS = ["predicted_digit", "confidence", "probabilities", "is_digit", "reason"]


def _submission_build(
    *, owner: AbstractBaseUser, data: bytes, source: str, kind: str = Submission.Kind.DIGIT
) -> tuple[Submission, PreparedImage]:
    """Check the image and return an unsaved submission for it with the image; no file is written yet.

    A number's digits are found here, in the process that received it, so a picture without digits or with
    too many is refused at once; its unsaved digit rows are on `found_digits`.
    """
    if source not in Submission.Source.values:
        raise ValidationError(f"Unknown source {source!r}.", code="invalid_source")
    if kind not in Submission.Kind.values:
        raise ValidationError(f"Unknown kind {kind!r}: send digit or number.", code="invalid_kind")
    if kind == Submission.Kind.NUMBER:
        image = number_prepare(data=data, version=model_version_ensure_active_cached())
    else:
        image = image_prepare(data=data)
    submission = Submission(
        owner=owner,
        kind=kind,
        source=source,
        pixels=b"" if image.pixels is None else pixels_to_bytes(image.pixels),
        image_content_type=image.content_type,
        created_at=timezone.now(),
    )
    submission.found_digits = [
        SubmissionDigit(position=position, x=x, y=y, width=width, height=height, pixels=pixels_to_bytes(crop.pixels))
        for position, crop in enumerate(image.digits)
        for x, y, width, height in [crop.box]
    ]
    return submission, image


def _model_inputs(submission: Submission) -> list[np.ndarray]:
    """The 28x28 inputs that answer a submission: its own, or its digits' left to right."""
    if submission.is_number:
        return [bytes_to_pixels(row.pixels) for row in submission.digit_rows]
    return [bytes_to_pixels(submission.pixels)]


def _predictions_assign(submissions: list[Submission], *, version: ModelVersion) -> None:
    """Predict every input of `submissions` in one batched call and set the answers on them, unsaved."""
    from recognizer.inference import engine

    inputs = [_model_inputs(submission) for submission in submissions]
    predictions, ms_per_image = engine.predict(version=version, pixels=np.stack([p for each in inputs for p in each]))
    now, start = timezone.now(), 0
    for submission, own in zip(submissions, inputs, strict=True):
        answers, start = predictions[start : start + len(own)], start + len(own)
        fields = _prediction_fields(answers, kind=submission.kind, version=version, ms_per_image=ms_per_image, now=now)
        for name, value in fields.items():
            setattr(submission, name, value)
        for row, prediction in zip(submission.digit_rows if submission.is_number else [], answers, strict=False):
            row.predicted_digit, row.confidence, row.probabilities = (
                prediction.digit,
                prediction.confidence,
                prediction.probabilities,
            )
            row.is_digit, row.reason = prediction.is_digit, prediction.reason or ""


def _prediction_fields(
    predictions: list[Prediction], *, kind: str, version: ModelVersion, ms_per_image: float, now
) -> dict:
    """A submission's prediction fields: one digit's answer, or a number's read from its digits' answers.

    A number's confidence is the chance all its digits are right (the product of their calibrated
    confidences); it is a digit (`is_digit`) when every one of its digits is, unchecked when one is.
    """
    fields = {
        "status": Submission.Status.DONE,
        "model_version": version,
        "inference_ms": round(ms_per_image * len(predictions), 3),
        "predicted_at": now,
        "updated_at": now,
        "error": "",
    }
    if kind != Submission.Kind.NUMBER:
        (prediction,) = predictions
        return fields | {
            "predicted_digit": prediction.digit,
            "confidence": prediction.confidence,
            "probabilities": prediction.probabilities,
            "is_digit": prediction.is_digit,
            "reason": prediction.reason or "",
        }
    verdicts = [prediction.is_digit for prediction in predictions]
    flagged = [prediction.reason for prediction in predictions if prediction.is_digit is False]
    return fields | {
        "number": "".join(str(prediction.digit) for prediction in predictions),
        "confidence": float(np.prod([prediction.confidence for prediction in predictions])),
        "is_digit": None if None in verdicts else all(verdicts),
        "reason": flagged[0] if flagged else "",
    }


def _submissions_predict_unsaved(built: list[tuple[Submission, PreparedImage]]) -> None:
    """Predict submissions not stored yet, in place; a failure is recorded on them, never raised.

    The embedded default's path: the row is then written once, with its
    prediction, and nobody has to wait for it or read it back.
    """
    submissions = [submission for submission, _image in built]
    try:
        _predictions_assign(submissions, version=model_version_ensure_active_cached())
    except Exception as error:
        logger.exception("Prediction failed for a new submission.")
        for submission in submissions:
            submission.status = Submission.Status.FAILED
            submission.error = f"Prediction failed: {error}"[:2000]


def _submissions_store(built: list[tuple[Submission, PreparedImage]]) -> list[Submission]:
    """Write the images and the rows together: one transaction, one INSERT (and one for a number's digits).

    Without a broker the rows are predicted first and stored done; with one
    they are stored pending and queued once committed. Each file is written
    once, as received; a file whose row does not commit is deleted again.
    """
    if not conf.has_broker():
        _submissions_predict_unsaved(built)
    submissions = [submission for submission, _image in built]
    with files_removed_on_error([s.image for s in submissions]), transaction.atomic():
        for submission, image in built:
            file_write(file=submission.image, name=f"{submission.kind}.{image.extension}", data=image.data)
        if len(submissions) == 1:
            _submission_insert(submissions[0])
        else:
            Submission.objects.bulk_create(submissions)
        rows = [row for submission in submissions for row in _digit_rows_owned(submission)]
        if rows:
            SubmissionDigit.objects.bulk_create(rows)
        pending = [s.pk for s in submissions if s.status == Submission.Status.PENDING]
        if pending:
            transaction.on_commit(lambda: dispatch.predictions_dispatch(submission_ids=pending))
    metrics.predictions_record(submissions=[s for s in submissions if s.status == Submission.Status.DONE])
    return submissions


def _submission_insert(submission: Submission) -> None:
    """`submission.save(force_insert=True)`: the same INSERT, with its statement compiled once per database.

    Compiling the statement (columns, placeholders, RETURNING) took about a
    fifth of a millisecond per prediction and never changes; the values are
    still prepared by each field as `save` prepares them. Should anything
    listen to a submission's save signals, it is saved the usual way.
    """
    meta = Submission._meta
    listened = model_signals.pre_save.has_listeners(Submission) or model_signals.post_save.has_listeners(Submission)
    if listened or submission.pk is not None or meta.db_returning_fields != [meta.pk]:
        submission.save(force_insert=True)
        return
    using = router.db_for_write(Submission, instance=submission)
    connection = connections[using]
    submission._prepare_related_fields_for_save(operation_name="save")
    fields = [field for field in meta.local_concrete_fields if field not in meta.pk_fields and not field.generated]
    values = [field.pre_save(submission, True) for field in fields]
    statement, returning_params = _insert_statement(connection, fields, submission)
    params = [field.get_db_prep_save(value, connection=connection) for field, value in zip(fields, values, strict=True)]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(statement, params)
        if connection.features.can_return_columns_from_insert:
            (submission.pk,) = connection.ops.fetch_returned_insert_columns(cursor, returning_params)
        else:
            submission.pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    submission._state.adding, submission._state.db = False, using


def _insert_statement(connection, fields: list, submission: Submission) -> tuple[str, tuple]:
    """The INSERT Django compiles for a submission on this database, and its RETURNING parameters."""
    key = (connection.alias, connection.vendor, tuple(field.attname for field in fields))
    if key not in _INSERT_STATEMENTS:
        query = InsertQuery(Submission)
        query.insert_values(fields, [submission])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = Submission._meta.db_returning_fields
        ((statement, _params),) = compiler.as_sql()
        _INSERT_STATEMENTS[key] = statement, compiler.returning_params
    return _INSERT_STATEMENTS[key]


def _digit_rows_owned(submission: Submission) -> list[SubmissionDigit]:
    for row in submission.found_digits:
        row.submission = submission
    return submission.found_digits


def submission_preview(
    *, owner: AbstractBaseUser, image: bytes, source: str, kind: str = Submission.Kind.DIGIT
) -> Submission:
    """Predict one image without storing anything; return the unsaved submission with its prediction.

    The same checks and errors as `submission_create` (ImageRejected,
    ValidationError), predicted in this process whether or not there are
    workers: a preview is answered at once and leaves no row, file or task.
    """
    built = [_submission_build(owner=owner, data=image, source=source, kind=kind)]
    _submissions_predict_unsaved(built)
    return built[0][0]


def submission_create(
    *, owner: AbstractBaseUser, image: bytes, source: str, kind: str = Submission.Kind.DIGIT
) -> Submission:
    """Store one image with its model input and its prediction, or queue the prediction.

    Raises ImageRejected (with a stable `code`) for images that cannot be
    predicted; nothing is stored then. Without a broker the image is predicted
    here first and stored done (or failed, with the reason), in one INSERT;
    with one it is stored pending and a worker predicts it after commit.
    A number (`kind="number"`) is stored with one row per digit found, in the
    same transaction; more than 16 digits is ImageRejected `too_many_digits`.
    """
    return _submissions_store([_submission_build(owner=owner, data=image, source=source, kind=kind)])[0]


def submission_batch_create(
    *, owner: AbstractBaseUser, images: list[bytes], source: str, kind: str = Submission.Kind.DIGIT
) -> list[Submission]:
    """Store several images at once and queue them as one batch prediction.

    All or nothing: if one image is rejected, none is stored, and the error
    says which one (`index` on the exception).
    """
    limit = conf.max_batch()
    if not images:
        raise ValidationError("Send at least one image.", code="empty_batch")
    if len(images) > limit:
        raise ValidationError(f"Send at most {limit} images in one batch.", code="batch_too_large")
    built = []
    for index, data in enumerate(images):
        try:
            built.append(_submission_build(owner=owner, data=data, source=source, kind=kind))
        except ImageRejected as error:
            error.index = index
            raise
    return _submissions_store(built)


def submissions_predict(*, submission_ids: list[int]) -> list[Submission]:
    """Predict the pending submissions among `submission_ids` as one batch (a number's digits included).

    Safe to run twice: submissions already done are left as they are, and so are their digits.
    """
    pending = list(
        Submission.objects.filter(pk__in=submission_ids, status=Submission.Status.PENDING)
        .prefetch_related("digits")
        .order_by("pk")
    )
    if not pending:
        return []
    for submission in pending:
        submission.found_digits = list(submission.digits.all())
    _predictions_assign(pending, version=model_version_ensure_active_cached())
    done = []
    # One row needs no transaction of its own: a single UPDATE is atomic.
    with transaction.atomic() if len(pending) > 1 or pending[0].is_number else contextlib.nullcontext():
        for submission in pending:
            fields = {name: getattr(submission, name) for name in PREDICTION_FIELDS}
            # Only a still-pending row is written: a second run changes nothing.
            if Submission.objects.filter(pk=submission.pk, status=Submission.Status.PENDING).update(**fields):
                SubmissionDigit.objects.bulk_update(submission.digit_rows, DIGIT_PREDICTION_FIELDS)
                done.append(submission)
        # Wake the requests waiting for these answers once they can read them.
        transaction.on_commit(lambda: wake.predictions_announce(submission_ids=[s.pk for s in done]))
    metrics.predictions_record(submissions=done)
    return done


def submission_predict(*, submission_id: int) -> Submission | None:
    """Predict one pending submission; return it, or None if there was nothing to do."""
    predicted = submissions_predict(submission_ids=[submission_id])
    return predicted[0] if predicted else None


def submissions_fail(*, submission_ids: list[int], error: str) -> int:
    """Mark the pending ones among `submission_ids` failed with a reason people can read; return how many."""
    failed = Submission.objects.filter(pk__in=submission_ids, status=Submission.Status.PENDING).update(
        status=Submission.Status.FAILED, error=error[:2000], updated_at=timezone.now()
    )
    transaction.on_commit(lambda: wake.predictions_announce(submission_ids=submission_ids))
    return failed


def submissions_predict_or_fail(*, submission_ids: list[int]) -> None:
    """Predict in this process; record a failure on the submissions instead of raising."""
    try:
        submissions_predict(submission_ids=submission_ids)
    except Exception as error:
        logger.exception("Prediction failed for submissions %s.", submission_ids)
        submissions_fail(submission_ids=submission_ids, error=f"Prediction failed: {error}")


def submissions_sweep_pending(*, older_than_seconds: float | None = None) -> int:
    """Send again the predictions of submissions left pending too long; return how many."""
    if older_than_seconds is None:
        older_than_seconds = conf.pending_sweep_after_seconds()
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(submissions_stale_pending(older_than=cutoff).values_list("pk", flat=True)[:SWEEP_LIMIT])
    for start in range(0, len(ids), SWEEP_BATCH):
        dispatch.predictions_dispatch(submission_ids=ids[start : start + SWEEP_BATCH])
    return len(ids)


def submissions_lock(*, submission_ids: list[int]) -> list[int]:
    """Lock submission rows in ascending id order, the one order every service takes them in; return their ids.

    Call inside a transaction. Corrections are locked after their submissions, never before.
    """
    locked = []
    for ids in id_chunks(sorted(submission_ids)):
        query = Submission.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        locked.extend(query.values_list("pk", flat=True))
    return locked


def id_chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Split ids into lists short enough for one `IN (...)` on every database."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def submission_delete(*, submission: Submission) -> None:
    """Delete a submission, its correction and its stored image file."""
    submissions_delete(submission_ids=[submission.pk])


def submissions_delete(*, submission_ids: list[int]) -> int:
    """Delete submissions with their corrections and image files, in one transaction; return how many."""
    with transaction.atomic():
        # Wait for corrections being written to these submissions, then delete both.
        locked = submissions_lock(submission_ids=submission_ids)
        names = []
        for ids in id_chunks(locked):
            names.extend(Submission.objects.filter(pk__in=ids).values_list("image", flat=True))
            Submission.objects.filter(pk__in=ids).delete()
        transaction.on_commit(lambda: _storage_delete([name for name in names if name]))
    return len(locked)


def _storage_delete(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):  # already gone, or storage down: the orphan sweep retries
            default_storage.delete(name)
