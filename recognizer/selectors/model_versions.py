"""Reads of model versions."""

from __future__ import annotations

from django.db.models import QuerySet

from recognizer.models import ModelVersion


def model_version_active() -> ModelVersion:
    """Return the active model version; raise ModelVersion.DoesNotExist if none."""
    return ModelVersion.objects.get(state=ModelVersion.State.ACTIVE)


def model_version_list() -> QuerySet[ModelVersion]:
    """Return every version, newest first, with its parent."""
    return ModelVersion.objects.select_related("parent").order_by("-number")


def model_version_get(*, version_id: int) -> ModelVersion:
    """Return one version with its parent; raise ModelVersion.DoesNotExist."""
    return ModelVersion.objects.select_related("parent").get(pk=version_id)


def model_version_get_by_number(*, number: int) -> ModelVersion:
    """Return the version with this number; raise ModelVersion.DoesNotExist."""
    return ModelVersion.objects.get(number=number)


def model_version_rollback_target() -> ModelVersion | None:
    """Return the version that served before the active one: the last retired one activated."""
    return (
        ModelVersion.objects.filter(state=ModelVersion.State.RETIRED, activated_at__isnull=False)
        .order_by("-activated_at", "-number")
        .first()
    )


def model_version_reliability(*, version: ModelVersion) -> list[dict] | None:
    """Return the version's reliability bins on MNIST test, as retraining or `evaluate_model --honesty` stored them."""
    honesty = (version.metrics or {}).get("honesty") or {}
    return honesty.get("reliability") or (honesty.get("calibration") or {}).get("reliability")
