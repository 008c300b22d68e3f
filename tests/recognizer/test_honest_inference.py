"""The engine's honest answers: the version's detector says which inputs are digits; its temperature calibrates."""

from __future__ import annotations

import numpy as np
import pytest

from recognizer.inference import engine
from recognizer.models import ModelVersion, Submission
from recognizer.services.model_versions import model_version_activate, model_version_register
from tests.images import digit_png
from training.calibration import apply_temperature
from training.data import load_sample

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory):
    """An untrained detector: its verdicts mean nothing, which is all these plumbing tests need."""
    from training.detector import build_detector
    from training.runtime import import_keras

    import_keras().utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("detector") / "detector.keras"
    build_detector().save(path)
    return path


@pytest.fixture
def honest_version(active_version, detector_file, settings):
    def register(*, threshold: float, temperature: float | None = None) -> ModelVersion:
        version = model_version_register(
            artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"],
            detector_path=detector_file,
            detector_threshold=threshold,
            temperature=temperature,
        )
        return model_version_activate(version=version)

    return register


def test_a_version_without_a_detector_gives_no_verdict(active_version):
    active_version.detector = ""
    predictions, _ = engine.predict(version=active_version, pixels=load_sample().x_test[:3])

    assert [(p.is_digit, p.reason) for p in predictions] == [(None, None)] * 3


@pytest.mark.parametrize(("threshold", "is_digit"), [(0.0, True), (1.01, False)])
def test_the_threshold_decides_the_verdict(honest_version, threshold, is_digit):
    version = honest_version(threshold=threshold)

    predictions, _ = engine.predict(version=version, pixels=load_sample().x_test[:8])

    assert {p.is_digit for p in predictions} == {is_digit}
    reasons = {p.reason for p in predictions}
    assert reasons == {None} if is_digit else reasons <= {"not_a_digit", "several_digits"}


def test_the_temperature_softens_the_confidence_but_not_the_answer(honest_version, active_version):
    pixels = load_sample().x_test[:20]
    raw = engine.model_for(active_version).predict_probabilities(pixels)  # the model's own, uncalibrated
    version = honest_version(threshold=0.0, temperature=2.0)

    softened, _ = engine.predict(version=version, pixels=pixels)

    assert [p.digit for p in softened] == raw.argmax(1).tolist()
    assert np.allclose([p.probabilities for p in softened], apply_temperature(raw, 2.0), atol=1e-3)
    assert all(s.confidence <= r.max() + 1e-6 for s, r in zip(softened, raw, strict=True))


def test_a_stored_prediction_keeps_its_verdict(honest_version, user, create_submission):
    honest_version(threshold=1.01)

    submission = create_submission(owner=user, image=digit_png(3), source="api")

    assert submission.status == Submission.Status.DONE
    assert submission.is_digit is False
    assert submission.reason in Submission.Reason.values
    assert submission.predicted_digit is not None  # the closest digit is kept


def test_a_detector_that_cannot_be_loaded_costs_the_verdict_not_the_prediction(honest_version, settings, tmp_path):
    version = honest_version(threshold=0.5)
    version.detector.storage.delete(version.detector.name)
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MODEL_CACHE_DIR": tmp_path}  # a machine that never had it
    engine.clear()

    predictions, _ = engine.predict(version=version, pixels=load_sample().x_test[:2])

    assert [p.is_digit for p in predictions] == [None, None]
    assert all(p.digit is not None for p in predictions)
