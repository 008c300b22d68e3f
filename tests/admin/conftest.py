"""Fixtures for the admin tests: model versions with metrics, a queue of submissions to review."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from recognizer.models import Correction, ModelVersion
from tests.factories import CorrectionFactory, SubmissionFactory, UserFactory
from training.evaluate import metrics_from_predictions


def evaluation(accuracy_noise: int = 0) -> dict:
    """Metrics as training records them: 100 images, `accuracy_noise` of them read as the next digit."""
    truth = np.repeat(np.arange(10), 10)
    predicted = truth.copy()
    predicted[:accuracy_noise] = (predicted[:accuracy_noise] + 1) % 10
    return metrics_from_predictions(truth, predicted)


@pytest.fixture
def make_version(db):
    def make(number: int, *, state: str = ModelVersion.State.CANDIDATE, **fields) -> ModelVersion:
        fields.setdefault("metrics", {"mnist": evaluation(2), "holdout": evaluation(5)})
        version = ModelVersion(number=number, state=state, **fields)
        version.mnist_accuracy = (version.metrics.get("mnist") or {}).get("accuracy")
        version.holdout_accuracy = (version.metrics.get("holdout") or {}).get("accuracy")
        version.artifact.save(f"v{number}.keras", ContentFile(b"not really a model"), save=False)
        version.save()
        return version

    return make


@pytest.fixture
def versions(make_version):
    """v1 served first and was retired, v2 serves now, v3 was rejected by the gate.

    They replace the shipped model that migrations register.
    """
    ModelVersion.objects.all().delete()
    now = timezone.now()
    v1 = make_version(1, state=ModelVersion.State.RETIRED, activated_at=now - timezone.timedelta(days=2))
    v2 = make_version(
        2,
        state=ModelVersion.State.ACTIVE,
        activated_at=now,
        parent=v1,
        gate_passed=True,
        gate_reason="MNIST -0.02 points, held-out +3 points",
        training_counts={"corrections": 40, "replay_images": 6000, "holdout": 10},
    )
    v3 = make_version(3, state=ModelVersion.State.REJECTED, parent=v2, gate_passed=False, gate_reason="MNIST dropped")
    return v1, v2, v3


@pytest.fixture
def queue(versions):
    """A review queue: confident and unsure predictions, corrections in every review state."""
    v1, v2, _ = versions
    owner = UserFactory(username="carol")
    return {
        "confident": SubmissionFactory(owner=owner, confidence=0.99, model_version=v2),
        "unsure": SubmissionFactory(owner=owner, confidence=0.41, model_version=v2),
        "middling": SubmissionFactory(owner=owner, confidence=0.7, model_version=v1),
        "pending": CorrectionFactory(submission__owner=owner, submission__confidence=0.9, submission__model_version=v2),
        "accepted": CorrectionFactory(
            submission__owner=owner, submission__confidence=0.3, review_state=Correction.Review.ACCEPTED
        ),
        "rejected": CorrectionFactory(
            submission__owner=owner, submission__confidence=0.2, review_state=Correction.Review.REJECTED
        ),
    }
