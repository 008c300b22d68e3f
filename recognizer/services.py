"""Writes: every change to submissions, corrections and model versions.

Views, API views, admin actions and Celery tasks call these functions and
nothing else changes the data, so the web pages and the API share one path.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from recognizer import selectors
from recognizer.models import Correction, ModelVersion, Submission
from training.preprocessing import ImageRejected, bytes_to_pixels, open_image, pixels_to_bytes, preprocess_image

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


class ImageTooBig(ImageRejected):
    code = "image_too_large"


def _check_size(data: bytes) -> None:
    limit = settings.RECOGNIZER["MAX_UPLOAD_BYTES"]
    if len(data) > limit:
        raise ImageTooBig(f"Image is larger than {limit / (1024 * 1024):g} MB.")


def _prepare(data: bytes) -> tuple[np.ndarray, str]:
    """Validate and normalise one image; return its 28x28 pixels and format."""
    _check_size(data)
    image = open_image(data, max_pixels=settings.RECOGNIZER["MAX_PIXELS"])
    return preprocess_image(image), image.format


def _new_submission(*, owner: AbstractBaseUser, data: bytes, source: str) -> Submission:
    pixels, image_format = _prepare(data)
    submission = Submission(
        owner=owner,
        source=source,
        pixels=pixels_to_bytes(pixels),
        image_content_type=CONTENT_TYPES[image_format],
        created_at=timezone.now(),
    )
    submission.image.save(f"digit.{EXTENSIONS[image_format]}", ContentFile(data), save=False)
    return submission


def submission_create(*, owner: AbstractBaseUser, image: bytes, source: str) -> Submission:
    """Store one image with its model input and queue its prediction.

    Raises ImageRejected (with a stable `code`) for images that cannot be
    predicted; nothing is stored then. The prediction runs after commit:
    in-process without a broker, on a worker with one.
    """
    if source not in Submission.Source.values:
        raise ValidationError(f"Unknown source {source!r}.", code="invalid_source")
    submission = _new_submission(owner=owner, data=image, source=source)
    with transaction.atomic():
        submission.save()
        transaction.on_commit(lambda: _dispatch_prediction([submission.pk]))
    return submission


def submission_batch_create(*, owner: AbstractBaseUser, images: list[bytes], source: str) -> list[Submission]:
    """Store several images at once and queue them as one batch prediction.

    All or nothing: if one image is rejected, none is stored, and the error
    says which one (`index` on the exception).
    """
    limit = settings.RECOGNIZER["MAX_BATCH"]
    if not images:
        raise ValidationError("Send at least one image.", code="empty_batch")
    if len(images) > limit:
        raise ValidationError(f"Send at most {limit} images in one batch.", code="batch_too_large")
    submissions = []
    for index, data in enumerate(images):
        try:
            submissions.append(_new_submission(owner=owner, data=data, source=source))
        except ImageRejected as error:
            for stored in submissions:
                stored.image.delete(save=False)
            error.index = index
            raise
    with transaction.atomic():
        for submission in submissions:
            submission.save()
        ids = [s.pk for s in submissions]
        transaction.on_commit(lambda: _dispatch_prediction(ids))
    return submissions


def _dispatch_prediction(submission_ids: list[int]) -> None:
    """Send the prediction to a worker; never lose the submission if that fails.

    With no broker configured the task runs right here. If the broker is
    down the submissions stay pending and the periodic sweep re-sends them.
    """
    from recognizer import tasks

    try:
        if len(submission_ids) == 1:
            tasks.submission_predict.delay(submission_ids[0])
        else:
            tasks.submissions_predict.delay(submission_ids)
    except Exception:  # the broker is unreachable; the sweep will catch up
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.warning("Broker unreachable; submissions %s stay pending for the sweep.", submission_ids)


def submissions_predict(*, submission_ids: list[int]) -> list[Submission]:
    """Predict the pending submissions among `submission_ids` as one batch.

    Safe to run twice: submissions already done are left as they are.
    """
    pending = list(Submission.objects.filter(pk__in=submission_ids, status=Submission.Status.PENDING).order_by("pk"))
    if not pending:
        return []
    from recognizer.inference import engine

    try:
        version = selectors.model_version_active()
    except ModelVersion.DoesNotExist:
        version = model_version_ensure_initial()
    pixels = np.stack([bytes_to_pixels(s.pixels) for s in pending])
    predictions, ms_per_image = engine.predict(version=version, pixels=pixels)
    now = timezone.now()
    done = []
    with transaction.atomic():
        for submission, prediction in zip(pending, predictions, strict=True):
            # Only a still-pending row is written: a second run changes nothing.
            updated = Submission.objects.filter(pk=submission.pk, status=Submission.Status.PENDING).update(
                status=Submission.Status.DONE,
                predicted_digit=prediction.digit,
                confidence=prediction.confidence,
                probabilities=prediction.probabilities,
                model_version=version,
                inference_ms=round(ms_per_image, 3),
                predicted_at=now,
                updated_at=now,
                error="",
            )
            if updated:
                done.append(submission.pk)
    return list(Submission.objects.filter(pk__in=done).order_by("pk"))


def submission_predict(*, submission_id: int) -> Submission | None:
    """Predict one pending submission; return it, or None if there was nothing to do."""
    predicted = submissions_predict(submission_ids=[submission_id])
    return predicted[0] if predicted else None


def submission_fail(*, submission_id: int, error: str) -> None:
    """Mark a pending submission failed with a reason people can read."""
    Submission.objects.filter(pk=submission_id, status=Submission.Status.PENDING).update(
        status=Submission.Status.FAILED, error=error[:2000], updated_at=timezone.now()
    )


def submissions_sweep_pending(*, older_than_seconds: float | None = None) -> int:
    """Re-send predictions for submissions left pending too long; return how many."""
    if older_than_seconds is None:
        older_than_seconds = settings.RECOGNIZER["PENDING_SWEEP_AFTER_SECONDS"]
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(selectors.submissions_stale_pending(older_than=cutoff).values_list("pk", flat=True)[:1000])
    for start in range(0, len(ids), 64):
        _dispatch_prediction(ids[start : start + 64])
    return len(ids)


def submission_delete(*, submission: Submission) -> None:
    """Delete a submission, its correction and its stored image file."""
    image = submission.image
    with transaction.atomic():
        submission.delete()
        if image:
            transaction.on_commit(lambda: image.storage.delete(image.name))


def correction_set(*, submission: Submission, label: int, user: AbstractBaseUser | None = None) -> Correction:
    """Record the true label for a submission, replacing any earlier one.

    A changed label goes back to review (or straight to accepted when
    corrections are accepted automatically); the old label stays in history.
    """
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 9:
        raise ValidationError("The label must be a digit from 0 to 9.", code="invalid_label")
    auto_accept = settings.RECOGNIZER["AUTO_ACCEPT_CORRECTIONS"]
    review = Correction.Review.ACCEPTED if auto_accept else Correction.Review.PENDING
    now = timezone.now()
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        correction = Correction.objects.filter(submission=locked).first()
        if correction is None:
            correction = Correction.objects.create(
                submission=locked, label=label, review_state=review, reviewed_at=now if auto_accept else None
            )
        elif correction.label != label:
            correction.history = [*correction.history, {"label": correction.label, "until": now.isoformat()}]
            correction.label = label
            correction.review_state = review
            correction.reviewed_by = None
            correction.reviewed_at = now if auto_accept else None
            correction.trained_in = None
            correction.save()
        if not locked.is_corrected:
            Submission.objects.filter(pk=locked.pk).update(is_corrected=True, updated_at=now)
        if auto_accept:
            transaction.on_commit(_maybe_start_auto_retrain)
    submission.is_corrected = True
    submission.correction = correction
    return correction


def correction_withdraw(*, submission: Submission) -> None:
    """Remove the correction of a submission, if it has one."""
    with transaction.atomic():
        Correction.objects.filter(submission_id=submission.pk).delete()
        Submission.objects.filter(pk=submission.pk).update(is_corrected=False, updated_at=timezone.now())
    submission.is_corrected = False


def corrections_review(*, correction_ids: list[int], state: str, reviewer: AbstractBaseUser) -> int:
    """Accept or reject corrections for training; return how many changed."""
    if state not in (Correction.Review.ACCEPTED, Correction.Review.REJECTED, Correction.Review.PENDING):
        raise ValidationError(f"Unknown review state {state!r}.", code="invalid_review_state")
    now = timezone.now()
    changed = Correction.objects.filter(pk__in=correction_ids).exclude(review_state=state)
    count = changed.update(
        review_state=state,
        reviewed_by=reviewer if state != Correction.Review.PENDING else None,
        reviewed_at=now if state != Correction.Review.PENDING else None,
        updated_at=now,
    )
    if state == Correction.Review.ACCEPTED and count:
        transaction.on_commit(_maybe_start_auto_retrain)
    return count


def _maybe_start_auto_retrain() -> None:
    """Start a retrain once enough accepted corrections wait (issue 6 wires this)."""
    threshold = settings.RECOGNIZER["RETRAIN_AFTER_ACCEPTED"]
    if threshold <= 0:
        return
    waiting = selectors.corrections_for_training(exclude_trained=True).count()
    if waiting >= threshold:
        try:
            from recognizer.retraining import retrain_job_start

            retrain_job_start(trigger="auto", requested_by=None)
        except Exception:  # a retrain already running, or none configured
            logger.info("Automatic retrain not started.", exc_info=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_version_register(
    *,
    artifact_path: Path,
    name: str = "",
    metrics: dict | None = None,
    training_counts: dict | None = None,
    parent: ModelVersion | None = None,
    state: str = ModelVersion.State.CANDIDATE,
    notes: str = "",
) -> ModelVersion:
    """Copy a trained model file into storage and record it as a new version."""
    metrics = metrics or {}
    with transaction.atomic():
        number = (ModelVersion.objects.select_for_update().aggregate(n=Max("number"))["n"] or 0) + 1
        version = ModelVersion(
            number=number,
            name=name,
            parent=parent,
            state=ModelVersion.State.CANDIDATE,
            metrics=metrics,
            mnist_accuracy=(metrics.get("mnist") or {}).get("accuracy"),
            holdout_accuracy=(metrics.get("holdout") or {}).get("accuracy"),
            training_counts=training_counts or {},
            notes=notes,
            artifact_sha256=_sha256_file(Path(artifact_path)),
        )
        with open(artifact_path, "rb") as handle:
            version.artifact.save(f"v{number}.keras", ContentFile(handle.read()), save=False)
        version.save()
        if state == ModelVersion.State.ACTIVE:
            version = model_version_activate(version=version)
        elif state != ModelVersion.State.CANDIDATE:
            version.state = state
            version.save(update_fields=["state"])
    return version


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one active model; the previous one is retired.

    Every process notices on its next prediction: they look the active
    version up each time and load it on first use.
    """
    with transaction.atomic():
        list(ModelVersion.objects.select_for_update().filter(state=ModelVersion.State.ACTIVE))
        ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE).exclude(pk=version.pk).update(
            state=ModelVersion.State.RETIRED
        )
        version.state = ModelVersion.State.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["state", "activated_at"])
    return version


def model_version_ensure_initial() -> ModelVersion:
    """Register the model shipped in the repository as v1 when no version exists."""
    existing = ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE).first()
    if existing:
        return existing
    if ModelVersion.objects.exists():
        # Versions exist but none is active: serve the newest one that was.
        fallback = ModelVersion.objects.exclude(state=ModelVersion.State.REJECTED).order_by("-number").first()
        if fallback:
            return model_version_activate(version=fallback)
    path = Path(settings.RECOGNIZER["INITIAL_MODEL_PATH"])
    summary_path = path.with_suffix(".metrics.json")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    counts = {k: summary[k] for k in ("train_images", "validation_images", "epochs_run") if k in summary}
    return model_version_register(
        artifact_path=path,
        name="shipped MNIST model",
        metrics={"mnist": summary.get("test", {})},
        training_counts=counts,
        state=ModelVersion.State.ACTIVE,
        notes="Trained by training/train.py on the full MNIST training set; shipped with the code.",
    )
