"""Retraining: fine-tune on accepted corrections, gate, promote or reject.

One job at a time (RetrainJob.in_flight is unique). The job row carries the
stage, the progress and a log, written as the work goes on, so the admin and
the API can show it. A new version becomes active only if it passes the
gate; otherwise it stays recorded as rejected with its metrics and reason.
The work itself is in `recognizer.retraining`; this module reads the rows it
needs and records what it decides.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from recognizer import conf, dispatch, metrics
from recognizer.models import Correction, ModelVersion, RetrainJob
from recognizer.retraining.gate import gate_check
from recognizer.retraining.pipeline import (
    TrainingData,
    detector_refine,
    event_log_line,
    honesty_measure,
    metrics_summary,
    retrain_model,
)
from recognizer.selectors.corrections import (
    correction_not_a_digit_samples,
    correction_samples,
    corrections_for_training,
    corrections_not_a_digit,
    corrections_split_counts,
    corrections_waiting_count,
)
from recognizer.services.model_versions import (
    model_version_ensure_active,
    model_version_register,
)

logger = logging.getLogger(__name__)

# Celery kills a retraining after this long; far below the broker's visibility timeout.
RETRAIN_TIME_LIMIT_SECONDS = 3600
# One deadline for the whole job: the fine-tune stops early enough to leave this much for what follows it
# (teaching the detector, calibrating, the gate), and the detector is taught only if this much is left.
POST_FINETUNE_RESERVE_SECONDS = 600
DETECTOR_REFINE_SECONDS = 300
# A job in flight this long is dead (its worker was killed): free the slot.
RETRAIN_STALE_AFTER_SECONDS = RETRAIN_TIME_LIMIT_SECONDS + 600
# A retaught detector's threshold flags at most this share of MNIST check digits (the gate allows twice that).
DETECTOR_MAX_FLAGGED = 0.005

Log = Callable[..., None]


def retrain_job_start(
    *, trigger: str, requested_by: AbstractBaseUser | None = None, enqueue: bool = True
) -> RetrainJob:
    """Queue a retraining on the accepted corrections and return its job.

    Refuses (ValidationError, code "retrain_in_progress") while another job is
    queued or running, and when there is nothing to train on or hold out
    ("not_enough_corrections"). The work is dispatched after commit; with
    `enqueue=False` the caller runs `retrain_job_run` itself.
    """
    _retrain_jobs_expire_stale()
    current = RetrainJob.objects.filter(in_flight=True).first()
    if current is not None:
        raise ValidationError(
            f"Retrain job {current.pk} is already {current.state}; wait for it to finish.", code="retrain_in_progress"
        )
    train, holdout = corrections_split_counts()
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
                stage=RetrainJob.Stage.QUEUED,
                progress={"stage": RetrainJob.Stage.QUEUED, "corrections": train, "holdout": holdout},
                log=f"{timezone.now():%H:%M:%S} Queued by {who}: {train} to train on, {holdout} held out.\n",
            )
            if enqueue:
                transaction.on_commit(lambda: dispatch.retrain_dispatch(job_id=job.pk))
    except IntegrityError:
        raise ValidationError("A retraining is already queued or running.", code="retrain_in_progress") from None
    return job


def retrain_start_if_due() -> RetrainJob | None:
    """Start a retraining once enough accepted corrections wait; return the job, if one started."""
    threshold = conf.retrain_after_accepted()
    if threshold <= 0:
        return None
    waiting = corrections_waiting_count(with_not_a_digit=bool(model_version_ensure_active().detector))
    if waiting < threshold:
        return None
    try:
        job = retrain_job_start(trigger=RetrainJob.Trigger.AUTO, requested_by=None)
    except ValidationError as error:  # one is already queued or running
        logger.info("Automatic retrain not started (%s waiting): %s", waiting, error.messages[0])
        return None
    logger.info("Automatic retrain job %s started: %s accepted corrections waiting.", job.pk, waiting)
    return job


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


def retrain_job_fail(*, job_id: int, error: str) -> None:
    """End a job still in flight as failed with `error` (the broker was down, its thread could not start...)."""
    job = RetrainJob.objects.filter(pk=job_id, in_flight=True).first()
    if job is not None:
        _retrain_job_finish(job, state=RetrainJob.State.FAILED, error=error)


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
    job.stage = RetrainJob.Stage.DONE if state == RetrainJob.State.SUCCEEDED else RetrainJob.Stage.FAILED
    job.error = error[:2000]
    job.finished_at = timezone.now()
    job.progress = {**job.progress, "stage": job.stage}
    if version is not None:
        job.result_version = version
    if error:
        job.log += f"{job.finished_at:%H:%M:%S} Failed: {error}\n"
    job.save(update_fields=["state", "in_flight", "stage", "error", "finished_at", "progress", "result_version", "log"])
    metrics.retrain_job_record(job=job)


def _retrain_job_claim(job_id: int) -> tuple[RetrainJob, bool] | None:
    """Mark the job running; return it and whether it ran before, or None if it already finished."""
    with transaction.atomic():
        job = RetrainJob.objects.select_for_update().get(pk=job_id)
        if job.state in (RetrainJob.State.SUCCEEDED, RetrainJob.State.FAILED):
            return None
        restarted = job.state == RetrainJob.State.RUNNING
        job.state = RetrainJob.State.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["state", "started_at"])
    return job, restarted


def retrain_job_run(*, job_id: int, on_log: Callable[[str], None] | None = None) -> RetrainJob:
    """Run one retraining job to its end; safe to call again.

    A finished job is returned as it is. A job left `running` by a worker
    that died starts over. Errors end the job as failed with the reason;
    they are not raised. `on_log` receives each log line as it is written.
    """
    claimed = _retrain_job_claim(job_id)
    if claimed is None:
        return RetrainJob.objects.get(pk=job_id)
    job, restarted = claimed

    def log(job: RetrainJob, message: str, **kwargs) -> None:
        _retrain_job_log(job, message, **kwargs)
        if on_log is not None:
            on_log(message)

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


def _training_data() -> tuple[TrainingData, list[int]]:
    """Return the accepted corrections as model inputs, and the ids of those trained on."""
    train, holdout = [], []
    for correction in corrections_for_training():
        # A number's correction gives one sample per digit, each with its own label (none if no piece is a digit).
        (holdout if correction.held_out else train).append((correction, correction_samples(correction=correction)))

    def inputs(samples: list[tuple[Correction, tuple[np.ndarray, np.ndarray]]]) -> tuple[np.ndarray, np.ndarray]:
        if not samples:
            return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
        return np.concatenate([x for _c, (x, _y) in samples]), np.concatenate([y for _c, (_x, y) in samples])

    (train_x, train_y), (holdout_x, holdout_y) = inputs(train), inputs(holdout)
    if not len(train_y) or not len(holdout_y):
        raise ValueError(f"{len(train_y)} digits to train on and {len(holdout_y)} held out; both must be at least 1.")
    data = TrainingData(train_x=train_x, train_y=train_y, holdout_x=holdout_x, holdout_y=holdout_y)
    return data, [c.pk for c, _samples in train]


@dataclass(frozen=True)
class _Detector:
    """The detector a retrained version gets: its parent's, or its parent's taught people's "not a digit"."""

    path: Path | None
    threshold: float | None
    trained_ids: list[int] = field(default_factory=list)
    report: dict = field(default_factory=dict)


def _retrain(job: RetrainJob, log: Log) -> ModelVersion:
    """Fine-tune the active model, gate the result, and register it as promoted or rejected."""
    from recognizer.inference import local_artifact_path

    parent = model_version_ensure_active()
    deadline = time.monotonic() + RETRAIN_TIME_LIMIT_SECONDS - 120  # a minute before Celery's soft limit
    read_at = timezone.now()  # a correction changed after this is not what the new version learned
    data, trained_ids = _training_data()
    train_count, holdout_count = data.counts
    stage = RetrainJob.Stage.LOADING_DATA
    message = f"Fine-tuning {parent} on {train_count} accepted corrections, {holdout_count} held out for the gate."
    log(job, message, stage=stage, progress={"stage": stage, "base_version": parent.number, "corrections": train_count})

    def on_event(event: dict) -> None:
        message, stage, progress = event_log_line(event)
        log(job, message, stage=stage, progress=progress)

    result = retrain_model(
        base_model_path=local_artifact_path(parent),
        data=data,
        epochs=conf.retrain_epochs(),
        replay_images=conf.retrain_replay_images(),
        # Ends on its own in time for the steps after it, also in a thread, where no Celery limit applies.
        time_limit_seconds=deadline - time.monotonic() - POST_FINETUNE_RESERVE_SECONDS,
        mnist_dir=conf.mnist_dir(),
        on_event=on_event,
    )
    with tempfile.TemporaryDirectory(prefix="retrain-") as folder:
        detector = _detector(
            parent, data, Path(folder), seconds_left=deadline - time.monotonic(), log=lambda message: log(job, message)
        )
        passed, reason = _gate(result, parent=parent, detector=detector)
        log(
            job,
            f"Gate {'passed' if passed else 'failed'}: {reason}",
            stage=RetrainJob.Stage.GATE,
            progress={"metrics": metrics_summary(result.metrics)},
        )
        version = _candidate_record(
            job,
            read_at=read_at,
            parent=parent,
            result=result,
            passed=passed,
            reason=reason,
            trained_ids=trained_ids,
            detector=detector,
            folder=Path(folder),
        )
    verdict = "now active" if version.state == ModelVersion.State.ACTIVE else "rejected; the active model stays"
    log(
        job,
        f"Registered {version}: {verdict}.",
        stage=RetrainJob.Stage.REGISTERED,
        progress={"version": version.number},
    )
    if version.state == ModelVersion.State.ACTIVE:
        _served_copy_head_start(version)
    return version


def _detector(
    parent: ModelVersion, data: TrainingData, folder: Path, *, seconds_left: float, log: Callable[[str], None]
) -> _Detector:
    """Teach the parent's detector the accepted "not a digit" pictures, if there are any; else keep it.

    With less than DETECTOR_REFINE_SECONDS left before the job's deadline, the parent's detector is kept
    and the pictures wait for the next retraining (they are not marked as learned).
    """
    from recognizer.inference import local_detector_path
    from training.finetune import save_model

    base = local_detector_path(parent) if parent.detector else None
    corrections = [c for c in corrections_not_a_digit() if not c.held_out]
    pictures = [correction_not_a_digit_samples(correction=c) for c in corrections]
    if base is None or not sum(map(len, pictures)):
        return _Detector(path=base, threshold=parent.detector_threshold)
    if seconds_left < DETECTOR_REFINE_SECONDS:
        log(f"{seconds_left:.0f} s left: the {len(corrections)} not-a-digit corrections wait for the next retraining.")
        return _Detector(path=base, threshold=parent.detector_threshold)
    not_digits = np.concatenate(pictures)
    log(f"Teaching the detector {len(not_digits)} pictures people said are not digits.")
    model, threshold, report = detector_refine(
        detector_path=base,
        not_digits=not_digits,
        digits=data.train_x,
        mnist_dir=conf.mnist_dir(),
        max_flagged=DETECTOR_MAX_FLAGGED,
        replay_images=conf.retrain_replay_images(),
    )
    path = save_model(model, folder / "detector.keras")
    return _Detector(path=path, threshold=threshold, trained_ids=[c.pk for c in corrections], report=report)


def _gate(result, *, parent: ModelVersion, detector: _Detector) -> tuple[bool, str]:
    """Calibrate the new model, measure it and its detector beside the parent, and apply the gate."""
    from recognizer.inference import local_artifact_path, local_detector_path

    honesty = honesty_measure(
        model=result.model,
        parent_model_path=local_artifact_path(parent),
        parent_temperature=parent.temperature,
        detector_path=detector.path,
        detector_threshold=detector.threshold,
        parent_detector_path=local_detector_path(parent) if parent.detector else None,
        parent_detector_threshold=parent.detector_threshold,
        mnist_dir=conf.mnist_dir(),
    )
    result.metrics["honesty"] = {**honesty, **({"detector": detector.report} if detector.report else {})}
    return gate_check(
        result.metrics,
        max_mnist_drop=conf.gate_max_mnist_drop(),
        max_holdout_drop=conf.gate_max_holdout_drop(),
        max_flagged=conf.gate_max_flagged(),
        max_ece_rise=conf.gate_max_ece_rise(),
        max_non_digit_drop=conf.gate_max_non_digit_drop(),
    )


def _candidate_record(
    job: RetrainJob,
    *,
    parent: ModelVersion,
    result,
    passed: bool,
    reason: str,
    trained_ids: list[int],
    detector: _Detector,
    folder: Path,
    read_at: datetime,
) -> ModelVersion:
    """Register the retrained model with its verdict, promote or reject it, and mark what it trained on: at once."""
    from training.finetune import save_model

    with transaction.atomic():
        active = ModelVersion.objects.select_for_update().filter(state=ModelVersion.State.ACTIVE).first()
        if passed and active is not None and active.pk != parent.pk:
            passed, reason = False, f"The active model changed to {active} while retraining; not promoted."
        version = model_version_register(
            artifact_path=save_model(result.model, folder / "model.keras"),
            name=f"retrained on {len(trained_ids)} corrections",
            metrics={**result.metrics, "history": result.history, "seconds": result.seconds, "retrain_job": job.pk},
            training_counts=result.counts,
            parent=parent,
            state=ModelVersion.State.ACTIVE if passed else ModelVersion.State.REJECTED,
            gate_passed=passed,
            gate_reason=reason,
            detector_path=detector.path,
            detector_threshold=detector.threshold,
            temperature=result.metrics["honesty"]["temperature"],
            notes=f"Retrain job {job.pk} ({job.trigger}), fine-tuned from {parent}.",
        )
        learned = Correction.objects.filter(pk__in=[*trained_ids, *detector.trained_ids], trained_in__isnull=True)
        # Relabelled while it trained: the new label is still to learn.
        learned.filter(updated_at__lte=read_at).update(trained_in=version)
    return version


def _served_copy_head_start(version: ModelVersion) -> None:
    """Export the served copy now, where TensorFlow is loaded anyway, so predicting processes need not.

    Only a head start: a failure here is left to the first prediction, which exports it too.
    """
    from recognizer.inference import served_copy_for, served_detector_for

    try:
        served_copy_for(version)
        if version.detector:
            served_detector_for(version)
    except Exception:
        logger.exception("Could not export the served copy of %s now; the first prediction will.", version)
