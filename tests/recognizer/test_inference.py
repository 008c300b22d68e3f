"""The inference engine: compiled once per version, batched, switching versions live."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from recognizer import services
from recognizer.inference import engine
from recognizer.models import Submission
from tests.images import sample_digit
from training.data import load_sample

pytestmark = pytest.mark.django_db


def test_batches_of_any_size_match_one_by_one(active_version):
    pixels = load_sample().x_test[:70]
    batched, _ = engine.predict(version=active_version, pixels=pixels)
    singles = [engine.predict(version=active_version, pixels=p[None])[0][0] for p in pixels[:5]]
    assert [p.digit for p in batched[:5]] == [p.digit for p in singles]
    assert np.allclose(batched[0].probabilities, singles[0].probabilities, atol=1e-4)
    assert len(batched) == 70


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
    return services.model_version_register(artifact_path=path, name="untrained")


def test_the_engine_follows_the_active_version_without_a_restart(
    user, active_version, untrained_version, django_capture_on_commit_callbacks
):
    from tests.images import digit_png

    def submit() -> Submission:
        with django_capture_on_commit_callbacks(execute=True):
            submission = services.submission_create(owner=user, image=digit_png(0), source="api")
        submission.refresh_from_db()
        return submission

    first = submit()
    assert first.model_version == active_version
    services.model_version_activate(version=untrained_version)
    second = submit()
    assert second.model_version == untrained_version
    assert second.probabilities != first.probabilities
    services.model_version_activate(version=active_version)
    third = submit()
    assert third.model_version == active_version
    assert third.predicted_digit == sample_digit(0)[1]
    assert np.allclose(third.probabilities, first.probabilities, atol=1e-5)
