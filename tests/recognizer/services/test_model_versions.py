"""Model version services: register, activate, ensure one is active."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from recognizer.models import ModelVersion
from recognizer.services.model_versions import (
    model_version_activate,
    model_version_ensure_active,
    model_version_honesty_ensure,
    model_version_metrics_record,
    model_version_register,
)

pytestmark = pytest.mark.django_db


def test_activating_a_version_retires_the_previous_one(active_version, settings):
    newer = model_version_register(artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"], name="copy")
    assert newer.state == ModelVersion.State.CANDIDATE
    assert newer.number == active_version.number + 1
    model_version_activate(version=newer)
    active_version.refresh_from_db()
    assert active_version.state == ModelVersion.State.RETIRED
    assert ModelVersion.objects.get(state=ModelVersion.State.ACTIVE) == newer


def test_registered_versions_keep_their_metrics_and_file(active_version, settings):
    path = settings.RECOGNIZER["INITIAL_MODEL_PATH"]
    version = model_version_register(
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
    first = model_version_ensure_active()
    outcome: dict[str, object] = {}

    def register() -> None:
        try:
            outcome["version"] = model_version_register(
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
            outcome["version"] = model_version_ensure_active()
        except Exception as error:  # the assertion below shows it
            outcome["error"] = error
        finally:
            connection.close()

    with transaction.atomic():
        first = model_version_ensure_active()
        other = threading.Thread(target=second_process)
        other.start()
        other.join(timeout=1.0)
    other.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["version"].pk == first.pk
    assert list(ModelVersion.objects.values_list("number", "state")) == [(1, "active")]


def test_ensure_initial_is_idempotent(active_version):
    assert model_version_ensure_active() == active_version
    assert ModelVersion.objects.count() == 1


def test_ensure_initial_reactivates_when_none_is_active(active_version):
    ModelVersion.objects.update(state=ModelVersion.State.RETIRED)
    assert model_version_ensure_active().pk == active_version.pk
    assert ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE).count() == 1


def test_a_version_is_registered_with_its_verdict_and_state_at_once(active_version, settings):
    version = model_version_register(
        artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"],
        state=ModelVersion.State.REJECTED,
        gate_passed=False,
        gate_reason="not better than its parent.",
    )
    version.refresh_from_db()
    assert (version.state, version.gate_passed, version.gate_reason) == (
        ModelVersion.State.REJECTED,
        False,
        "not better than its parent.",
    )


def test_activating_a_rejected_version_needs_consent(active_version, settings):
    rejected = model_version_register(
        artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"], state=ModelVersion.State.REJECTED, gate_passed=False
    )
    with pytest.raises(ValidationError) as refused:
        model_version_activate(version=rejected)
    assert refused.value.code == "version_rejected"
    assert model_version_activate(version=rejected, allow_rejected=True).state == ModelVersion.State.ACTIVE


def test_activating_a_version_whose_file_is_gone_is_refused(active_version, settings):
    version = model_version_register(artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"])
    version.artifact.storage.delete(version.artifact.name)
    with pytest.raises(ValidationError) as refused:
        model_version_activate(version=version)
    assert refused.value.code == "artifact_missing"


@pytest.fixture
def shipped_detector(settings, tmp_path):
    """A detector shipped beside the initial model, with its threshold in its metrics file."""
    import json

    from training.detector import build_detector

    path = tmp_path / "detector.keras"
    build_detector().save(path)
    path.with_suffix(".metrics.json").write_text(json.dumps({"threshold": 0.25}))
    settings.RECOGNIZER = {**settings.RECOGNIZER, "INITIAL_DETECTOR_PATH": path}
    return path


def test_the_shipped_model_is_registered_with_its_detector(shipped_detector):
    ModelVersion.objects.all().delete()  # a fresh database: migrate registered v1 before this test's settings

    version = model_version_ensure_active()

    assert version.detector and version.detector_threshold == 0.25
    with version.detector.open("rb") as stored:
        assert stored.read() == shipped_detector.read_bytes()


def test_a_shipped_model_registered_before_detectors_gets_its_detector_once(active_version, shipped_detector):
    ModelVersion.objects.filter(pk=active_version.pk).update(detector="", detector_threshold=None)
    active_version.refresh_from_db()

    first = model_version_honesty_ensure(version=active_version)
    again = model_version_honesty_ensure(version=first)

    assert first.detector and first.detector_threshold == 0.25
    assert again.detector.name == first.detector.name


def test_another_model_gets_the_shipped_detector_but_not_its_temperature(active_version, shipped_detector, tmp_path):
    from training.model import build_model

    other = tmp_path / "other.keras"
    build_model().save(other)
    version = model_version_register(artifact_path=other)

    attached = model_version_honesty_ensure(version=version)

    assert attached.detector and attached.detector_threshold == 0.25
    assert attached.temperature is None  # fitted to the shipped classifier, not this one


def test_a_version_whose_detector_file_is_gone_is_not_activated(active_version, shipped_detector, settings):
    version = model_version_register(
        artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"], detector_path=shipped_detector, detector_threshold=0.2
    )
    version.detector.storage.delete(version.detector.name)

    with pytest.raises(ValidationError) as refused:
        model_version_activate(version=version)
    assert refused.value.code == "artifact_missing"


def test_recorded_metrics_join_those_the_version_has(active_version):
    before = dict(active_version.metrics)

    version = model_version_metrics_record(version=active_version, metrics={"mnist": {"accuracy": 0.5, "count": 10}})

    assert version.mnist_accuracy == 0.5
    assert version.metrics == {**before, "mnist": {"accuracy": 0.5, "count": 10}}
