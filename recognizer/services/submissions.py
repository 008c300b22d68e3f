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
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from recognizer import conf, dispatch, metrics, wake
from recognizer.models import ModelVersion, Submission
from recognizer.selectors.submissions import submissions_stale_pending
from recognizer.services.files import files_removed_on_error
from recognizer.services.intake import PreparedImage, image_prepare
from recognizer.services.model_versions import model_version_ensure_active_cached
from training.preprocessing import ImageRejected, bytes_to_pixels, pixels_to_bytes

if TYPE_CHECKING:
    from recognizer.inference import Prediction

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 1000
SWEEP_BATCH = 64


def _submission_build(*, owner: AbstractBaseUser, data: bytes, source: str) -> tuple[Submission, PreparedImage]:
    """Check the image and return an unsaved submission for it with the image; no file is written yet."""
    if source not in Submission.Source.values:
        raise ValidationError(f"Unknown source {source!r}.", code="invalid_source")
    image = image_prepare(data=data)
    submission = Submission(
        owner=owner,
        source=source,
        pixels=pixels_to_bytes(image.pixels),
        image_content_type=image.content_type,
        created_at=timezone.now(),
    )
    return submission, image


def _prediction_fields(prediction: Prediction, *, version: ModelVersion, ms_per_image: float, now) -> dict:
    return {
        "status": Submission.Status.DONE,
        "predicted_digit": prediction.digit,
        "confidence": prediction.confidence,
        "probabilities": prediction.probabilities,
        "model_version": version,
        "inference_ms": round(ms_per_image, 3),
        "is_digit": prediction.is_digit,
        "reason": prediction.reason or "",
        "predicted_at": now,
        "updated_at": now,
        "error": "",
    }


def _submissions_predict_unsaved(built: list[tuple[Submission, PreparedImage]]) -> None:
    """Predict submissions not stored yet, in place; a failure is recorded on them, never raised.

    The embedded default's path: the row is then written once, with its
    prediction, and nobody has to wait for it or read it back.
    """
    try:
        from recognizer.inference import engine

        version = model_version_ensure_active_cached()
        pixels = np.stack([image.pixels for _submission, image in built])
        predictions, ms_per_image = engine.predict(version=version, pixels=pixels)
    except Exception as error:
        logger.exception("Prediction failed for a new submission.")
        for submission, _image in built:
            submission.status = Submission.Status.FAILED
            submission.error = f"Prediction failed: {error}"[:2000]
        return
    now = timezone.now()
    for (submission, _image), prediction in zip(built, predictions, strict=True):
        for name, value in _prediction_fields(prediction, version=version, ms_per_image=ms_per_image, now=now).items():
            setattr(submission, name, value)


def _submissions_store(built: list[tuple[Submission, PreparedImage]]) -> list[Submission]:
    """Write the images and the rows together: one transaction, one INSERT.

    Without a broker the rows are predicted first and stored done; with one
    they are stored pending and queued once committed. Each file is written
    once, as received; a file whose row does not commit is deleted again.
    """
    if not conf.has_broker():
        _submissions_predict_unsaved(built)
    submissions = [submission for submission, _image in built]
    with files_removed_on_error([s.image for s in submissions]), transaction.atomic():
        for submission, image in built:
            submission.image.save(f"digit.{image.extension}", ContentFile(image.data), save=False)
        if len(submissions) == 1:
            submissions[0].save(force_insert=True)
        else:
            Submission.objects.bulk_create(submissions)
        pending = [s.pk for s in submissions if s.status == Submission.Status.PENDING]
        if pending:
            transaction.on_commit(lambda: dispatch.predictions_dispatch(submission_ids=pending))
    metrics.predictions_record(submissions=[s for s in submissions if s.status == Submission.Status.DONE])
    return submissions


def submission_preview(*, owner: AbstractBaseUser, image: bytes, source: str) -> Submission:
    """Predict one image without storing anything; return the unsaved submission with its prediction.

    The same checks and errors as `submission_create` (ImageRejected,
    ValidationError), predicted in this process whether or not there are
    workers: a preview is answered at once and leaves no row, file or task.
    """
    built = [_submission_build(owner=owner, data=image, source=source)]
    _submissions_predict_unsaved(built)
    return built[0][0]


def submission_create(*, owner: AbstractBaseUser, image: bytes, source: str) -> Submission:
    """Store one image with its model input and its prediction, or queue the prediction.

    Raises ImageRejected (with a stable `code`) for images that cannot be
    predicted; nothing is stored then. Without a broker the image is predicted
    here first and stored done (or failed, with the reason), in one INSERT;
    with one it is stored pending and a worker predicts it after commit.
    """
    return _submissions_store([_submission_build(owner=owner, data=image, source=source)])[0]


def submission_batch_create(*, owner: AbstractBaseUser, images: list[bytes], source: str) -> list[Submission]:
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
            built.append(_submission_build(owner=owner, data=data, source=source))
        except ImageRejected as error:
            error.index = index
            raise
    return _submissions_store(built)


def submissions_predict(*, submission_ids: list[int]) -> list[Submission]:
    """Predict the pending submissions among `submission_ids` as one batch.

    Safe to run twice: submissions already done are left as they are.
    """
    pending = list(Submission.objects.filter(pk__in=submission_ids, status=Submission.Status.PENDING).order_by("pk"))
    if not pending:
        return []
    from recognizer.inference import engine

    version = model_version_ensure_active_cached()
    pixels = np.stack([bytes_to_pixels(s.pixels) for s in pending])
    predictions, ms_per_image = engine.predict(version=version, pixels=pixels)
    now = timezone.now()
    done = []
    # One row needs no transaction of its own: a single UPDATE is atomic.
    with transaction.atomic() if len(pending) > 1 else contextlib.nullcontext():
        for submission, prediction in zip(pending, predictions, strict=True):
            fields = _prediction_fields(prediction, version=version, ms_per_image=ms_per_image, now=now)
            # Only a still-pending row is written: a second run changes nothing.
            if Submission.objects.filter(pk=submission.pk, status=Submission.Status.PENDING).update(**fields):
                for name, value in fields.items():
                    setattr(submission, name, value)
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
