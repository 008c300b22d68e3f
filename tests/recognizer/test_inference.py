"""The inference engine: compiled once per version, batched, switching versions live."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from django.conf import settings

from recognizer.inference import REMEMBERED, Engine, engine, serving_copy
from recognizer.models import Submission
from recognizer.services.model_versions import model_version_activate, model_version_register
from recognizer.services.submissions import submission_create
from tests.images import sample_digit
from training.data import load_sample
from training.serving import SERVING_FORMAT

pytestmark = pytest.mark.django_db


def test_batches_of_any_size_match_one_by_one(active_version):
    pixels = load_sample().x_test[:70]
    batched, _ = engine.predict(version=active_version, pixels=pixels)
    singles = [engine.predict(version=active_version, pixels=p[None])[0][0] for p in pixels[:5]]
    assert [p.digit for p in batched[:5]] == [p.digit for p in singles]
    assert np.allclose(batched[0].probabilities, singles[0].probabilities, atol=1e-4)
    assert len(batched) == 70


def test_inputs_scored_while_reading_a_number_are_predicted_as_afresh(active_version):
    pixels = load_sample().x_test[:20]
    reading = Engine()
    reading.digit_score(version=active_version)(pixels[:12])  # remembered: the first 12 of the 20
    kept, _ = reading.predict(version=active_version, pixels=pixels)
    fresh, _ = Engine().predict(version=active_version, pixels=pixels)

    assert [(p.digit, p.probabilities, p.is_digit) for p in kept] == [
        (p.digit, p.probabilities, p.is_digit) for p in fresh
    ]
    assert not reading.model_for(active_version)._remembered  # taken once; the rest forgotten
    reading.digit_score(version=active_version)(pixels[:5])
    reading.predict(version=active_version, pixels=pixels[10:12])
    assert not reading.model_for(active_version)._remembered
    reading.digit_score(version=active_version)(load_sample().x_test[: REMEMBERED + 50])
    assert len(reading.model_for(active_version)._remembered) == REMEMBERED


def test_the_model_is_loaded_once_per_version(active_version):
    assert engine.model_for(active_version) is engine.model_for(active_version)


def test_predictions_are_safe_from_several_threads(active_version):
    pixels = load_sample().x_test[:40]
    expected = [p.digit for p in engine.predict(version=active_version, pixels=pixels)[0]]
    results: dict[int, list[int]] = {}

    def work(index: int) -> None:
        results[index] = [p.digit for p in engine.predict(version=active_version, pixels=pixels)[0]]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())


@pytest.fixture
def untrained_version(tmp_path):
    """A second version whose answers differ from the shipped model's."""
    import keras

    from training.model import build_model

    keras.utils.set_random_seed(7)
    path = tmp_path / "untrained.keras"
    build_model().save(path)
    return model_version_register(artifact_path=path, name="untrained")


def test_the_engine_follows_the_active_version_without_a_restart(
    user, active_version, untrained_version, django_capture_on_commit_callbacks
):
    from tests.images import digit_png

    def submit() -> Submission:
        with django_capture_on_commit_callbacks(execute=True):
            submission = submission_create(owner=user, image=digit_png(0), source="api")
        submission.refresh_from_db()
        return submission

    first = submit()
    assert first.model_version == active_version
    model_version_activate(version=untrained_version)
    second = submit()
    assert second.model_version == untrained_version
    assert second.probabilities != first.probabilities
    model_version_activate(version=active_version)
    third = submit()
    assert third.model_version == active_version
    assert third.predicted_digit == sample_digit(0)[1]
    assert np.allclose(third.probabilities, first.probabilities, atol=1e-5)


def test_a_cached_copy_is_served_without_importing_tensorflow(tmp_path):
    artifact = tmp_path / "v1-cafe.keras"
    artifact.write_bytes(settings.RECOGNIZER["INITIAL_MODEL_PATH"].read_bytes())
    copy = serving_copy(artifact)
    assert copy.name == f"v1-cafe.{SERVING_FORMAT}.tflite"
    exported_at = copy.stat().st_mtime_ns
    assert serving_copy(artifact).stat().st_mtime_ns == exported_at

    script = (
        "import pathlib, sys, django; django.setup()\n"
        "from recognizer.inference import LoadedModel\n"
        f"loaded = LoadedModel(pathlib.Path({str(artifact)!r}))\n"
        "from training.data import load_sample\n"
        "print(int(loaded.predict_probabilities(load_sample().x_test[:1]).argmax()))\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "digitsite.settings.test"},
    )
    assert result.returncode == 0, result.stderr
    digit, imported = result.stdout.split("\n")[:2]
    assert int(digit) == int(load_sample().y_test[0])
    assert imported == "False False"


def test_a_damaged_copy_in_the_cache_is_exported_again(tmp_path):
    from recognizer.inference import LoadedModel

    artifact = tmp_path / "v1-beef.keras"
    artifact.write_bytes(settings.RECOGNIZER["INITIAL_MODEL_PATH"].read_bytes())
    copy = serving_copy(artifact)
    good = copy.read_bytes()
    copy.write_bytes(good[: len(good) // 3])  # as a crash mid-write on another machine might leave it

    loaded = LoadedModel(artifact)

    sample = load_sample()
    assert int(loaded.predict_probabilities(sample.x_test[:1]).argmax()) == int(sample.y_test[0])
    # The export is not byte-for-byte repeatable (metadata), so compare sizes: a whole copy again.
    assert abs(len(copy.read_bytes()) - len(good)) < 1024


def test_a_copy_another_process_already_replaced_is_not_exported_again(tmp_path):
    artifact = tmp_path / "v1-f00d.keras"
    artifact.write_bytes(settings.RECOGNIZER["INITIAL_MODEL_PATH"].read_bytes())
    copy = serving_copy(artifact)
    current = copy.stat().st_mtime_ns

    # This process saw an older, damaged copy; the one there now is newer, so it is kept.
    assert serving_copy(artifact, replace_if_from=current - 1) == copy
    assert copy.stat().st_mtime_ns == current


def test_a_version_is_exported_once_and_other_machines_download_it(active_version, settings, tmp_path, monkeypatch):
    from recognizer.inference import served_copy_for

    settings.RECOGNIZER = {**settings.RECOGNIZER, "MODEL_CACHE_DIR": tmp_path / "first-machine"}
    exported = served_copy_for(active_version)
    shared = f"{active_version.artifact.name}.{SERVING_FORMAT}.tflite"
    assert active_version.artifact.storage.exists(shared)

    # Another machine: an empty cache, and no export allowed.
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MODEL_CACHE_DIR": tmp_path / "second-machine"}

    def no_export(model):
        raise AssertionError("the second machine exported instead of downloading")

    monkeypatch.setattr("training.serving.export_serving_model", no_export)
    downloaded = served_copy_for(active_version)

    assert downloaded.parent == tmp_path / "second-machine"
    assert downloaded.read_bytes() == exported.read_bytes()
