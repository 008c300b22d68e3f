"""Model versions: register trained models, choose the active one."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from recognizer import conf
from recognizer.caching import GenerationCache
from recognizer.models import ModelVersion
from recognizer.services.files import files_removed_on_error

logger = logging.getLogger(__name__)
# Forgotten in every process when a version is saved or deleted (recognizer/signals.py).
ACTIVE_VERSION = GenerationCache("model_versions")

REGISTER_ATTEMPTS = 5
SHIPPED_NOTES = (
    "Trained by training/train.py on the full MNIST training set, refined by training/refine.py on "
    "1,000 pen-drawn digits; shipped with the code."
)


def model_version_register(
    *,
    artifact_path: Path,
    name: str = "",
    metrics: dict | None = None,
    training_counts: dict | None = None,
    parent: ModelVersion | None = None,
    state: str = ModelVersion.State.CANDIDATE,
    gate_passed: bool | None = None,
    gate_reason: str = "",
    notes: str = "",
    number: int | None = None,
    detector_path: Path | None = None,
    detector_threshold: float | None = None,
    temperature: float | None = None,
) -> ModelVersion:
    """Copy a trained model file (and its detector) into storage and record it as a new version, in `state`.

    The row, its gate verdict and its state are written in one transaction,
    so no version is ever seen half-registered. Two registrations at once may
    read the same highest number; the unique number makes the second insert
    fail, and it takes the next number. With `number` given, that number or
    an IntegrityError.
    """
    metrics = metrics or {}
    content = Path(artifact_path).read_bytes()
    fields = {
        "name": name,
        "parent": parent,
        "metrics": metrics,
        "mnist_accuracy": (metrics.get("mnist") or {}).get("accuracy"),
        "holdout_accuracy": (metrics.get("holdout") or {}).get("accuracy"),
        "training_counts": training_counts or {},
        "gate_passed": gate_passed,
        "gate_reason": gate_reason,
        "notes": notes,
        "artifact_sha256": hashlib.sha256(content).hexdigest(),
        "detector_threshold": detector_threshold,
        "temperature": temperature,
    }
    detector = Path(detector_path).read_bytes() if detector_path else None
    if detector is not None:
        fields["detector_sha256"] = hashlib.sha256(detector).hexdigest()
    with transaction.atomic():
        version = _version_insert(fields, number=number)
        # Stored only once the number is ours, so a lost race leaves no file behind.
        with files_removed_on_error([version.artifact, version.detector]):
            version.artifact.save(f"v{version.number}.keras", ContentFile(content), save=False)
            if detector is not None:
                version.detector.save(f"v{version.number}-detector.keras", ContentFile(detector), save=False)
            version.save(update_fields=["artifact", "detector"])
            if state == ModelVersion.State.ACTIVE:
                version = model_version_activate(version=version)
            elif state != ModelVersion.State.CANDIDATE:
                version.state = state
                version.save(update_fields=["state"])
    return version


def _version_insert(fields: dict, *, number: int | None) -> ModelVersion:
    """Insert a candidate with the next free number (or `number`), retrying a lost race."""
    for attempt in range(REGISTER_ATTEMPTS):
        chosen = number or (ModelVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(number=chosen, state=ModelVersion.State.CANDIDATE, **fields)
        except IntegrityError:
            if number or attempt == REGISTER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def model_version_activate(*, version: ModelVersion, allow_rejected: bool = False) -> ModelVersion:
    """Make `version` the one active model; the previous one is retired.

    Every process notices on its next prediction: the version they keep in
    memory is forgotten when this commits (recognizer/caching.py), and they load it on first use. A version the gate
    rejected needs `allow_rejected=True`; one whose file is missing is refused.
    """
    if version.state == ModelVersion.State.REJECTED and not allow_rejected:
        raise ValidationError(
            f"{version} was rejected by the gate ({version.gate_reason or 'no reason recorded'}).",
            code="version_rejected",
        )
    if not version.artifact or not version.artifact.storage.exists(version.artifact.name):
        raise ValidationError(f"The model file of {version} is missing from storage.", code="artifact_missing")
    if version.detector and not version.detector.storage.exists(version.detector.name):
        raise ValidationError(f"The detector file of {version} is missing from storage.", code="artifact_missing")
    with transaction.atomic():
        active = list(ModelVersion.objects.select_for_update().filter(state=ModelVersion.State.ACTIVE))
        if [v.pk for v in active] == [version.pk]:  # already the one; `version` may be a stale copy
            version.state = ModelVersion.State.ACTIVE
            return version
        ModelVersion.objects.filter(pk__in=[v.pk for v in active]).update(state=ModelVersion.State.RETIRED)
        version.state = ModelVersion.State.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["state", "activated_at"])
    logger.info("%s is the active model.", version)
    return version


def model_version_ensure_active() -> ModelVersion:
    """Return the active version, making one active when there is none.

    Without any version, the model shipped in the repository is registered
    as v1; with versions but none active, the newest one not rejected serves.
    """
    existing = ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE).first()
    if existing:
        return existing
    fallback = ModelVersion.objects.exclude(state=ModelVersion.State.REJECTED).order_by("-number").first()
    if fallback:
        return model_version_activate(version=fallback)
    return _shipped_model_register()


def model_version_ensure_active_cached() -> ModelVersion:
    """`model_version_ensure_active`, kept in this process's memory until any version changes anywhere.

    What predictions use: the active version is read by every prediction and
    changes rarely; a change (activation, retirement, an edit) is seen by every
    process on its next prediction (recognizer/caching.py). The caller gets a copy of its own.
    """
    return copy.copy(ACTIVE_VERSION.get("active", model_version_ensure_active))


def _summary(model_path: Path) -> dict:
    """The metrics file written beside a shipped model file, or {}."""
    path = model_path.with_suffix(".metrics.json")
    return json.loads(path.read_text()) if path.exists() else {}


def _shipped_model_register() -> ModelVersion:
    path, detector = conf.initial_model_path(), conf.initial_detector_path()
    summary, detector_summary = _summary(path), _summary(detector)
    counts = {k: summary[k] for k in ("train_images", "validation_images", "epochs_run") if k in summary}
    try:
        return model_version_register(
            artifact_path=path,
            name="shipped MNIST model",
            metrics={"mnist": summary.get("test", {}), "honesty": summary.get("honesty", {})},
            training_counts=counts,
            state=ModelVersion.State.ACTIVE,
            notes=SHIPPED_NOTES,
            number=1,
            detector_path=detector if detector.exists() else None,
            detector_threshold=detector_summary.get("threshold"),
            temperature=(summary.get("calibration") or {}).get("temperature"),
        )
    except IntegrityError:  # another process registered it at the same moment
        return ModelVersion.objects.get(number=1)


def model_version_honesty_ensure(*, version: ModelVersion) -> ModelVersion:
    """Give a version registered before detectors existed the shipped detector (and the shipped model its temperature).

    The detector judges pictures, whatever the classifier, so any version
    without one gets it; a temperature is fitted to one classifier, so only
    the shipped model gets the shipped temperature.
    """
    path, detector = conf.initial_model_path(), conf.initial_detector_path()
    if version.detector or not detector.exists():
        return version
    content = detector.read_bytes()
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.detector:  # another process attached it meanwhile
            return locked
        with files_removed_on_error([locked.detector]):
            locked.detector.save(f"v{locked.number}-detector.keras", ContentFile(content), save=False)
            locked.detector_sha256 = hashlib.sha256(content).hexdigest()
            locked.detector_threshold = _summary(detector).get("threshold")
            fields = ["detector", "detector_sha256", "detector_threshold"]
            if locked.artifact_sha256 == hashlib.sha256(path.read_bytes()).hexdigest():
                # A temperature belongs to one classifier: only the shipped one gets the shipped temperature.
                locked.temperature = (_summary(path).get("calibration") or {}).get("temperature")
                locked.metrics = {**locked.metrics, "honesty": _summary(path).get("honesty", {})}
                fields += ["temperature", "metrics"]
            locked.save(update_fields=fields)
    logger.info("%s now has the shipped detector and temperature.", locked)
    return locked


def model_version_metrics_record(*, version: ModelVersion, metrics: dict) -> ModelVersion:
    """Store measurements of a version (`mnist`, `honesty`...) beside those it has; `mnist` sets its accuracy too."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        locked.metrics = {**locked.metrics, **metrics}
        fields = ["metrics"]
        if "mnist" in metrics:
            locked.mnist_accuracy = metrics["mnist"].get("accuracy")
            fields.append("mnist_accuracy")
        locked.save(update_fields=fields)
    return locked
