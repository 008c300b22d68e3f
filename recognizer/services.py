"""Writes: every change to submissions, corrections and model versions.

Views, API views, admin actions and Celery tasks call these functions and
nothing else changes the data, so the web pages and the API share one path.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connections, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from rest_framework.authtoken.models import Token

from recognizer import selectors
from recognizer.models import Correction, ModelVersion, RetrainJob, Submission
from training.data import write_idx
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
        except Exception as error:
            for stored in submissions:
                stored.image.delete(save=False)
            if isinstance(error, ImageRejected):
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

    With no broker configured the prediction runs right here. If the broker
    is down the submissions stay pending and the periodic sweep re-sends them.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No broker: a trip through Celery's eager machinery would only add time.
        submissions_predict_or_fail(submission_ids=submission_ids)
        return
    from recognizer import tasks

    try:
        if len(submission_ids) == 1:
            tasks.submission_predict.delay(submission_ids[0])
        else:
            tasks.submissions_predict.delay(submission_ids)
    except Exception:  # the broker is unreachable; the sweep will catch up
        logger.warning("Broker unreachable; submissions %s stay pending for the sweep.", submission_ids)


def submissions_predict_or_fail(*, submission_ids: list[int]) -> None:
    """Predict in this process; record a failure on the submissions instead of raising."""
    try:
        submissions_predict(submission_ids=submission_ids)
    except Exception as error:
        logger.exception("Prediction failed for submissions %s.", submission_ids)
        for submission_id in submission_ids:
            submission_fail(submission_id=submission_id, error=f"Prediction failed: {error}")


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
    # One row needs no transaction of its own: a single UPDATE is atomic.
    with transaction.atomic() if len(pending) > 1 else contextlib.nullcontext():
        for submission, prediction in zip(pending, predictions, strict=True):
            fields = {
                "status": Submission.Status.DONE,
                "predicted_digit": prediction.digit,
                "confidence": prediction.confidence,
                "probabilities": prediction.probabilities,
                "model_version": version,
                "inference_ms": round(ms_per_image, 3),
                "predicted_at": now,
                "updated_at": now,
                "error": "",
            }
            # Only a still-pending row is written: a second run changes nothing.
            if Submission.objects.filter(pk=submission.pk, status=Submission.Status.PENDING).update(**fields):
                for name, value in fields.items():
                    setattr(submission, name, value)
                done.append(submission)
    return done


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


def auth_token_obtain(*, username: str, password: str) -> Token:
    """Return the API token of the active account with these credentials, creating it on first use."""
    user = authenticate(username=username, password=password)
    if user is None:
        raise ValidationError("Unable to log in with this username and password.", code="invalid_credentials")
    token, _ = Token.objects.get_or_create(user=user)
    return token


def submission_delete(*, submission: Submission) -> None:
    """Delete a submission, its correction and its stored image file."""
    image = submission.image
    with transaction.atomic():
        # Wait for a correction being written to this submission, then delete both.
        Submission.objects.select_for_update().filter(pk=submission.pk).first()
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
        waits = correction.review_state == Correction.Review.PENDING
        if not locked.is_corrected or locked.needs_review != waits:
            Submission.objects.filter(pk=locked.pk).update(is_corrected=True, needs_review=waits, updated_at=now)
        if auto_accept:
            transaction.on_commit(_maybe_start_auto_retrain)
    submission.is_corrected = True
    submission.needs_review = waits
    submission.correction = correction
    return correction


def correction_withdraw(*, submission: Submission) -> None:
    """Remove the correction of a submission, if it has one."""
    with transaction.atomic():
        # Lock the row as correction_set does, so the two never interleave.
        Submission.objects.select_for_update().filter(pk=submission.pk).first()
        Correction.objects.filter(submission_id=submission.pk).delete()
        Submission.objects.filter(pk=submission.pk).update(
            is_corrected=False, needs_review=False, updated_at=timezone.now()
        )
    submission.is_corrected = False
    submission.needs_review = False


def corrections_review(*, correction_ids: list[int], state: str, reviewer: AbstractBaseUser) -> int:
    """Accept or reject corrections for training; return how many changed."""
    if state not in (Correction.Review.ACCEPTED, Correction.Review.REJECTED, Correction.Review.PENDING):
        raise ValidationError(f"Unknown review state {state!r}.", code="invalid_review_state")
    now = timezone.now()
    with transaction.atomic():
        # Submissions first, then their corrections: the order correction_set locks them in.
        owners = Correction.objects.filter(pk__in=correction_ids).values_list("submission_id", flat=True)
        for ids in _chunks(sorted(owners)):
            _lock_submissions(ids)
        changed = Correction.objects.filter(pk__in=correction_ids).exclude(review_state=state)
        submission_ids = list(changed.values_list("submission_id", flat=True))
        count = changed.update(
            review_state=state,
            reviewed_by=reviewer if state != Correction.Review.PENDING else None,
            reviewed_at=now if state != Correction.Review.PENDING else None,
            updated_at=now,
        )
        for ids in _chunks(submission_ids):
            Submission.objects.filter(pk__in=ids).update(needs_review=state == Correction.Review.PENDING)
    if state == Correction.Review.ACCEPTED and count:
        transaction.on_commit(_maybe_start_auto_retrain)
    return count


def _lock_submissions(ids: list[int]) -> list[int]:
    """Lock submission rows in ascending id order: the one order every service takes them in."""
    return list(Submission.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def corrections_relabel(*, submission_ids: list[int], label: int, reviewer: AbstractBaseUser) -> int:
    """Give submissions a label decided by staff, accepted for training at once.

    A submission without a correction gets one; a correction with another
    label keeps the old one in `history` and will be trained on again.
    Returns how many submissions changed label or review state.
    """
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 9:
        raise ValidationError("The label must be a digit from 0 to 9.", code="invalid_label")
    now = timezone.now()
    accepted = Correction.Review.ACCEPTED
    changed = 0
    with transaction.atomic():
        for ids in _chunks(sorted(submission_ids)):
            locked = _lock_submissions(ids)
            existing = list(Correction.objects.filter(submission_id__in=locked))
            updates = []
            for correction in existing:
                if correction.label == label and correction.review_state == accepted:
                    continue
                if correction.label != label:
                    correction.history = [*correction.history, {"label": correction.label, "until": now.isoformat()}]
                    correction.label = label
                    correction.trained_in = None
                correction.review_state = accepted
                correction.reviewed_by = reviewer
                correction.reviewed_at = now
                correction.updated_at = now
                updates.append(correction)
            Correction.objects.bulk_update(
                updates, ["label", "history", "trained_in", "review_state", "reviewed_by", "reviewed_at", "updated_at"]
            )
            missing = set(locked) - {c.submission_id for c in existing}
            Correction.objects.bulk_create(
                Correction(submission_id=pk, label=label, review_state=accepted, reviewed_by=reviewer, reviewed_at=now)
                for pk in sorted(missing)
            )
            Submission.objects.filter(pk__in=missing).update(is_corrected=True, updated_at=now)
            Submission.objects.filter(pk__in=locked, needs_review=True).update(needs_review=False)
            changed += len(updates) + len(missing)
        if changed:
            transaction.on_commit(_maybe_start_auto_retrain)
    return changed


def submissions_reopen(*, submission_ids: list[int], reviewer: AbstractBaseUser) -> list[dict]:
    """Send corrected submissions back to their owners: withdraw their corrections.

    Each submission is uncorrected again, so it leaves every training set
    and its owner's history asks for the true digit once more. Returns the
    withdrawn corrections ({"submission_id", "label", "review_state"}) for the record.
    """
    withdrawn = []
    now = timezone.now()
    with transaction.atomic():
        for ids in _chunks(sorted(submission_ids)):
            # Submissions first, then their corrections: the order correction_set locks them in.
            _lock_submissions(ids)
            corrections = Correction.objects.filter(submission_id__in=ids).order_by("submission_id")
            rows = list(corrections.values("submission_id", "label", "review_state"))
            corrections.delete()
            Submission.objects.filter(pk__in=[row["submission_id"] for row in rows]).update(
                is_corrected=False, needs_review=False, updated_at=now
            )
            withdrawn.extend(rows)
    if withdrawn:
        logger.info("%s re-opened %d submissions: %s", reviewer, len(withdrawn), withdrawn)
    return withdrawn


DATASET_CSV_COLUMNS = (
    "index",
    "submission_id",
    "label",
    "label_source",
    "predicted_digit",
    "confidence",
    "review_state",
    "model_version",
    "owner_id",
    "source",
    "created_at",
)


def dataset_export(*, submissions: QuerySet[Submission], out: BinaryIO) -> dict:
    """Write `submissions` into `out` as a zip holding an MNIST-style dataset.

    `images-idx3-ubyte.gz` holds the 28x28 inputs (uint8, white ink on black,
    as MNIST), `labels-idx1-ubyte.gz` the labels, and `labels.csv` one row per
    image in the same order. The label is the corrected one if there is a
    correction, otherwise the prediction; submissions with neither (pending,
    failed) are left out. Returns {"count", "from_corrections", "skipped"}.
    """
    rows = (
        submissions.order_by("pk")
        .values_list(
            "pk",
            "pixels",
            "predicted_digit",
            "confidence",
            "correction__label",
            "correction__review_state",
            "model_version__number",
            "owner_id",
            "source",
            "created_at",
        )
        .iterator(chunk_size=2000)
    )
    images, labels, skipped, from_corrections = [], [], 0, 0
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(DATASET_CSV_COLUMNS)
    for pk, pixels, predicted, confidence, corrected, review, version, owner_id, source, created in rows:
        label = corrected if corrected is not None else predicted
        if label is None:
            skipped += 1
            continue
        from_corrections += corrected is not None
        images.append(bytes_to_pixels(pixels))
        labels.append(label)
        writer.writerow(
            [
                len(labels) - 1,
                pk,
                label,
                "correction" if corrected is not None else "prediction",
                "" if predicted is None else predicted,
                "" if confidence is None else f"{confidence:.6f}",
                review or "",
                "" if version is None else version,
                owner_id,
                source,
                created.isoformat(),
            ]
        )
    image_array = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    with tempfile.TemporaryDirectory(prefix="digits-export-") as folder, zipfile.ZipFile(out, "w") as archive:
        for name, array in (("images-idx3-ubyte.gz", image_array), ("labels-idx1-ubyte.gz", np.array(labels))):
            write_idx(Path(folder) / name, array)
            archive.write(Path(folder) / name, name)
        archive.writestr("labels.csv", table.getvalue())
    return {"count": len(labels), "from_corrections": from_corrections, "skipped": skipped}


def _maybe_start_auto_retrain() -> None:
    """Start a retrain once enough accepted corrections wait (issue 6 wires this)."""
    threshold = settings.RECOGNIZER["RETRAIN_AFTER_ACCEPTED"]
    if threshold <= 0:
        return
    waiting = _corrections_waiting_count()
    if waiting >= threshold:
        try:
            job = retrain_job_start(trigger="auto", requested_by=None)
        except ValidationError as error:  # one is already queued or running
            logger.info("Automatic retrain not started (%s waiting): %s", waiting, error.messages[0])
        else:
            logger.info("Automatic retrain job %s started: %s accepted corrections waiting.", job.pk, waiting)


REGISTER_ATTEMPTS = 5


def model_version_register(
    *,
    artifact_path: Path,
    name: str = "",
    metrics: dict | None = None,
    training_counts: dict | None = None,
    parent: ModelVersion | None = None,
    state: str = ModelVersion.State.CANDIDATE,
    notes: str = "",
    number: int | None = None,
) -> ModelVersion:
    """Copy a trained model file into storage and record it as a new version.

    Two registrations at once may read the same highest number; the unique
    number makes the second insert fail, and it takes the next number. With
    `number` given, that number or an IntegrityError.
    """
    metrics = metrics or {}
    content = Path(artifact_path).read_bytes()
    with transaction.atomic():
        chosen = number
        for attempt in range(REGISTER_ATTEMPTS):
            number = chosen or (ModelVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
            try:
                with transaction.atomic():
                    version = ModelVersion.objects.create(
                        number=number,
                        name=name,
                        parent=parent,
                        state=ModelVersion.State.CANDIDATE,
                        metrics=metrics,
                        mnist_accuracy=(metrics.get("mnist") or {}).get("accuracy"),
                        holdout_accuracy=(metrics.get("holdout") or {}).get("accuracy"),
                        training_counts=training_counts or {},
                        notes=notes,
                        artifact_sha256=hashlib.sha256(content).hexdigest(),
                    )
                break
            except IntegrityError:
                if chosen or attempt == REGISTER_ATTEMPTS - 1:
                    raise
        # Stored only once the number is ours, so a lost race leaves no file behind.
        version.artifact.save(f"v{number}.keras", ContentFile(content), save=True)
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
    try:
        return model_version_register(
            artifact_path=path,
            name="shipped MNIST model",
            metrics={"mnist": summary.get("test", {})},
            training_counts=counts,
            state=ModelVersion.State.ACTIVE,
            notes=(
                "Trained by training/train.py on the full MNIST training set, refined by training/refine.py on "
                "1,000 pen-drawn digits; shipped with the code."
            ),
            number=1,
        )
    except IntegrityError:  # another process registered it at the same moment
        return ModelVersion.objects.get(number=1)


# Retraining: fine-tune on accepted corrections, gate, promote or reject.
#
# One job at a time (RetrainJob.in_flight is unique). The job row carries the
# stage, the progress and a log, written as the work goes on, so the admin and
# the API can show it. A new version becomes active only if it passes the
# gate; otherwise it stays recorded as rejected with its metrics and reason.

# Celery kills a retraining after this long; far below the broker's visibility timeout.
RETRAIN_TIME_LIMIT_SECONDS = 3600
# A job in flight this long is dead (its worker was killed): free the slot.
RETRAIN_STALE_AFTER_SECONDS = RETRAIN_TIME_LIMIT_SECONDS + 600


def _correction_in_holdout(correction_id: int) -> bool:
    """Whether a correction belongs to the held-out part; fixed for life by its id.

    A hash of the id decides, so a held-out correction is never trained on,
    in this retraining or any later one, and the split needs no stored state.
    """
    fraction = settings.RECOGNIZER["RETRAIN_HOLDOUT_FRACTION"]
    digest = hashlib.sha256(f"correction:{correction_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def _corrections_waiting_count() -> int:
    """Accepted corrections no version has trained on yet, held-out ones excepted."""
    ids = selectors.corrections_for_training(exclude_trained=True).values_list("pk", flat=True)
    return sum(1 for pk in ids if not _correction_in_holdout(pk))


def _training_split_counts() -> tuple[int, int]:
    ids = list(selectors.corrections_for_training().values_list("pk", flat=True))
    holdout = sum(1 for pk in ids if _correction_in_holdout(pk))
    return len(ids) - holdout, holdout


def _retrain_jobs_expire_stale() -> None:
    """Fail jobs whose worker died long ago, so retraining never stays blocked."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=RETRAIN_STALE_AFTER_SECONDS)
    for job in RetrainJob.objects.filter(in_flight=True, created_at__lt=cutoff):
        if job.started_at and job.started_at >= cutoff:
            continue
        reason = f"Abandoned: not finished {RETRAIN_STALE_AFTER_SECONDS // 60} minutes after it was queued or started."
        job.log += f"{now:%H:%M:%S} {reason}\n"
        RetrainJob.objects.filter(pk=job.pk, in_flight=True).update(
            state=RetrainJob.State.FAILED, in_flight=None, error=reason, log=job.log, finished_at=now
        )
        logger.warning("Retrain job %s: %s", job.pk, reason)


def retrain_job_start(
    *, trigger: str, requested_by: AbstractBaseUser | None = None, enqueue: bool = True
) -> RetrainJob:
    """Queue a retraining on the accepted corrections and return its job.

    Refuses (ValidationError, code "retrain_in_progress") while another job is
    queued or running, and when there is nothing to train on or hold out
    ("not_enough_corrections"). The task is sent after commit; with
    `enqueue=False` the caller runs `retrain_job_run` itself.
    """
    _retrain_jobs_expire_stale()
    current = RetrainJob.objects.filter(in_flight=True).first()
    if current is not None:
        raise ValidationError(
            f"Retrain job {current.pk} is already {current.state}; wait for it to finish.", code="retrain_in_progress"
        )
    train, holdout = _training_split_counts()
    if not train or not holdout:
        raise ValidationError(
            f"Not enough accepted corrections: {train} to train on and {holdout} held out for the gate; "
            "both must be at least 1.",
            code="not_enough_corrections",
        )
    who = getattr(requested_by, "username", None) or trigger
    try:
        with transaction.atomic():
            job = RetrainJob.objects.create(
                trigger=trigger,
                requested_by=requested_by,
                stage="queued",
                progress={"stage": "queued", "corrections": train, "holdout": holdout},
                log=f"{timezone.now():%H:%M:%S} Queued by {who}: {train} to train on, {holdout} held out.\n",
            )
            if enqueue:
                transaction.on_commit(lambda: _dispatch_retrain(job.pk))
    except IntegrityError:
        raise ValidationError("A retraining is already queued or running.", code="retrain_in_progress") from None
    return job


def retrain_runs_in_thread() -> bool:
    """Whether a retraining started here runs in a thread of this process (no broker, background on)."""
    return settings.CELERY_TASK_ALWAYS_EAGER and settings.RECOGNIZER["RETRAIN_IN_BACKGROUND"]


def _dispatch_retrain(job_id: int) -> None:
    """Send the retraining to a worker; if the broker is down, say so on the job.

    With no broker (the embedded default) it runs in a thread of this
    process, so the request that started it answers at once.
    """
    from recognizer import tasks

    if retrain_runs_in_thread():
        threading.Thread(target=_retrain_in_thread, args=(job_id,), name=f"retrain-job-{job_id}", daemon=True).start()
        return
    try:
        tasks.retrain_job_run.delay(job_id)
    except Exception as error:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.warning("Broker unreachable; retrain job %s not sent.", job_id)
        job = RetrainJob.objects.get(pk=job_id)
        _retrain_job_finish(job, state=RetrainJob.State.FAILED, error=f"The task queue could not be reached: {error}")


def _retrain_in_thread(job_id: int) -> None:
    try:
        retrain_job_run(job_id=job_id)
    except Exception as error:  # before the job could record it itself, e.g. the database was locked
        logger.exception("Retrain job %s could not run.", job_id)
        job = RetrainJob.objects.filter(pk=job_id, in_flight=True).first()
        if job is not None:
            _retrain_job_finish(job, state=RetrainJob.State.FAILED, error=f"{type(error).__name__}: {error}")
    finally:
        connections.close_all()  # this thread's own connections


def _retrain_job_log(job: RetrainJob, message: str, *, stage: str | None = None, progress: dict | None = None) -> None:
    """Append a line to the job's log and store its stage and progress now (autocommit)."""
    job.log += f"{timezone.now():%H:%M:%S} {message}\n"
    fields = ["log"]
    if stage is not None:
        job.stage = stage[:40]
        fields.append("stage")
    if progress is not None:
        job.progress = {**job.progress, **progress}
        fields.append("progress")
    job.save(update_fields=fields)
    logger.info("Retrain job %s: %s", job.pk, message)


def _retrain_job_finish(job: RetrainJob, *, state: str, error: str = "", version: ModelVersion | None = None) -> None:
    job.state = state
    job.in_flight = None
    job.stage = "done" if state == RetrainJob.State.SUCCEEDED else "failed"
    job.error = error[:2000]
    job.finished_at = timezone.now()
    job.progress = {**job.progress, "stage": job.stage}
    if version is not None:
        job.result_version = version
    if error:
        job.log += f"{job.finished_at:%H:%M:%S} Failed: {error}\n"
    job.save(update_fields=["state", "in_flight", "stage", "error", "finished_at", "progress", "result_version", "log"])


def retrain_job_run(*, job_id: int, on_log=None) -> RetrainJob:
    """Run one retraining job to its end; safe to call again.

    A finished job is returned as it is. A job left `running` by a worker
    that died starts over. Errors end the job as failed with the reason;
    they are not raised. `on_log` receives each log line as it is written.
    """
    with transaction.atomic():
        job = RetrainJob.objects.select_for_update().get(pk=job_id)
        if job.state in (RetrainJob.State.SUCCEEDED, RetrainJob.State.FAILED):
            return job
        restarted = job.state == RetrainJob.State.RUNNING
        job.state = RetrainJob.State.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["state", "started_at"])
    if on_log is not None:
        original = _retrain_job_log

        def log(job, message, **kwargs):
            original(job, message, **kwargs)
            on_log(message)
    else:
        log = _retrain_job_log
    if restarted:
        log(job, "Started again: the worker running it was lost.")
    try:
        version = _retrain(job, log)
    except Exception as error:
        logger.exception("Retrain job %s failed.", job.pk)
        _retrain_job_finish(job, state=RetrainJob.State.FAILED, error=f"{type(error).__name__}: {error}")
        if on_log is not None:
            on_log(f"Failed: {error}")
        return job
    _retrain_job_finish(job, state=RetrainJob.State.SUCCEEDED, version=version)
    return job


def _accuracy_summary(metrics: dict) -> dict:
    return {"accuracy": metrics.get("accuracy"), "count": metrics.get("count")}


def _retrain(job: RetrainJob, log) -> ModelVersion:
    """Fine-tune the active model, register the result, gate it, promote or reject it."""
    from recognizer.inference import local_artifact_path, served_copy_for
    from training.finetune import FinetuneConfig, finetune, save_model

    options = settings.RECOGNIZER
    try:
        parent = selectors.model_version_active()
    except ModelVersion.DoesNotExist:
        parent = model_version_ensure_initial()
    train, holdout = [], []
    for correction in selectors.corrections_for_training():
        (holdout if _correction_in_holdout(correction.pk) else train).append(correction)
    if not train or not holdout:
        raise ValueError(f"{len(train)} corrections to train on and {len(holdout)} held out; both must be at least 1.")
    log(
        job,
        f"Fine-tuning {parent} on {len(train)} accepted corrections, {len(holdout)} held out for the gate.",
        stage="loading data",
        progress={"stage": "loading data", "base_version": parent.number, "corrections": len(train)},
    )

    def on_event(event: dict) -> None:
        stage = event["stage"]
        if "loss" in event:
            log(
                job,
                f"Epoch {event['epoch']}/{event['epochs']}: loss {event['loss']:.4f}, acc {event['accuracy']:.4f}.",
                stage=stage,
                progress={"stage": stage, **{k: event[k] for k in ("epoch", "epochs", "loss", "accuracy")}},
            )
        else:
            log(job, event.get("message") or f"{stage[:1].upper()}{stage[1:]}.", stage=stage, progress=event)

    config = FinetuneConfig(
        epochs=options["RETRAIN_EPOCHS"],
        replay_images=options["RETRAIN_REPLAY_IMAGES"],
        # Ends on its own a minute before Celery's soft limit, and also in a thread, where no limit applies.
        time_limit_seconds=RETRAIN_TIME_LIMIT_SECONDS - 120,
    )
    result = finetune(
        base_model_path=local_artifact_path(parent),
        train_x=np.stack([bytes_to_pixels(c.submission.pixels) for c in train]),
        train_y=np.array([c.label for c in train]),
        holdout_x=np.stack([bytes_to_pixels(c.submission.pixels) for c in holdout]),
        holdout_y=np.array([c.label for c in holdout]),
        config=config,
        data_dir=options["MNIST_DIR"] or None,
        on_event=on_event,
    )
    metrics = result.metrics
    passed, reason = _retrain_gate(metrics)
    summary = {
        "mnist": _accuracy_summary(metrics["mnist"]),
        "holdout": _accuracy_summary(metrics["holdout"]),
        "parent_mnist": _accuracy_summary(metrics["parent"]["mnist"]),
        "parent_holdout": _accuracy_summary(metrics["parent"]["holdout"]),
    }
    log(job, f"Gate {'passed' if passed else 'failed'}: {reason}", stage="gate", progress={"metrics": summary})
    with tempfile.TemporaryDirectory(prefix="retrain-") as folder:
        path = save_model(result.model, Path(folder) / "model.keras")
        version = model_version_register(
            artifact_path=path,
            name=f"retrained on {len(train)} corrections",
            metrics={**metrics, "history": result.history, "seconds": result.seconds, "retrain_job": job.pk},
            training_counts=result.counts,
            parent=parent,
            notes=f"Retrain job {job.pk} ({job.trigger}), fine-tuned from {parent}.",
        )
    with transaction.atomic():
        active = ModelVersion.objects.select_for_update().filter(state=ModelVersion.State.ACTIVE).first()
        if passed and active is not None and active.pk != parent.pk:
            passed, reason = False, f"The active model changed to {active} while retraining; not promoted."
        version.gate_passed = passed
        version.gate_reason = reason
        version.save(update_fields=["gate_passed", "gate_reason"])
        if passed:
            model_version_activate(version=version)
        else:
            version.state = ModelVersion.State.REJECTED
            version.save(update_fields=["state"])
        Correction.objects.filter(pk__in=[c.pk for c in train], trained_in__isnull=True).update(trained_in=version)
    verdict = "now active" if passed else "rejected; the active model stays"
    log(job, f"Registered {version}: {verdict}.", stage="registered", progress={"version": version.number})
    if passed:
        # Exported here, where TensorFlow is loaded anyway, so this machine's predicting processes need not.
        # Only a head start: a failure here is left to the first prediction, which exports it too.
        try:
            served_copy_for(version)
        except Exception:
            logger.exception("Could not export the served copy of %s now; the first prediction will.", version)
    return version


def _retrain_gate(metrics: dict) -> tuple[bool, str]:
    """Apply the promotion gate to fine-tuning metrics; return (passed, reason).

    The new model may lose at most GATE_MAX_MNIST_DROP of MNIST test accuracy
    and GATE_MAX_HOLDOUT_DROP of held-out correction accuracy, both measured
    against its parent on the same images in the same run, and it must be
    better on one of the two: a retraining that learned nothing (wrong or
    contradictory labels, as often as not) is not promoted.
    """
    rules = (
        ("MNIST test accuracy", "mnist", settings.RECOGNIZER["GATE_MAX_MNIST_DROP"]),
        ("held-out correction accuracy", "holdout", settings.RECOGNIZER["GATE_MAX_HOLDOUT_DROP"]),
    )
    failures, report = [], []
    for label, key, allowed in rules:
        new, old = metrics[key]["accuracy"], metrics["parent"][key]["accuracy"]
        if new is None or old is None:
            failures.append(f"no {label} to compare")
            continue
        text = f"{label} {old:.2%} -> {new:.2%}"
        report.append(text)
        if old - new > allowed + 1e-9:
            failures.append(f"{text}, a drop of {(old - new) * 100:.2f} points (at most {allowed * 100:.2f} allowed)")
    if not failures and not any(
        metrics[key]["accuracy"] > metrics["parent"][key]["accuracy"] + 1e-9 for _label, key, _allowed in rules
    ):
        failures.append(f"not better than its parent on either measure ({'; '.join(report)})")
    if failures:
        return False, "; ".join(failures) + "."
    return True, "; ".join(report) + "."


def model_version_rollback(*, version: ModelVersion, allow_rejected: bool = False) -> ModelVersion:
    """Make an earlier version active again; every process switches on its next prediction.

    A version the gate rejected needs `allow_rejected=True`.
    """
    if version.state == ModelVersion.State.REJECTED and not allow_rejected:
        raise ValidationError(
            f"{version} was rejected by the gate ({version.gate_reason or 'no reason recorded'}).",
            code="version_rejected",
        )
    if not version.artifact or not version.artifact.storage.exists(version.artifact.name):
        raise ValidationError(f"The model file of {version} is missing from storage.", code="artifact_missing")
    if version.state == ModelVersion.State.ACTIVE:
        return version
    version = model_version_activate(version=version)
    logger.info("Rolled back to %s.", version)
    return version
