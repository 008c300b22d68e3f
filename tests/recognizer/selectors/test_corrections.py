"""Correction selectors: the classifier's training data and the detector's."""

from __future__ import annotations

import pytest

from recognizer.models import Correction
from recognizer.selectors.corrections import corrections_for_training, corrections_not_a_digit
from tests.factories import CorrectionFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

ACCEPTED = Correction.Review.ACCEPTED


def test_not_a_digit_returns_accepted_not_a_digit_corrections_with_their_pixels_oldest_first():
    first = CorrectionFactory(label=None, review_state=ACCEPTED)
    second = CorrectionFactory(label=None, review_state=ACCEPTED, held_out=True)
    CorrectionFactory(label=None)  # waiting for review
    CorrectionFactory(label=None, review_state=Correction.Review.REJECTED)
    CorrectionFactory(label=4, review_state=ACCEPTED)

    found = list(corrections_not_a_digit())

    assert found == [first, second]
    assert len(found[0].submission.pixels) == 784  # joined in, no query per row
    assert [c.held_out for c in found] == [first.held_out, True]


def test_not_a_digit_can_leave_out_what_a_version_trained_on():
    trained = CorrectionFactory(label=None, review_state=ACCEPTED, trained_in=ModelVersionFactory())
    fresh = CorrectionFactory(label=None, review_state=ACCEPTED)
    assert list(corrections_not_a_digit(exclude_trained=True)) == [fresh]
    assert list(corrections_not_a_digit()) == [trained, fresh]


def test_the_classifier_trains_on_digit_corrections_only():
    digit = CorrectionFactory(label=2, review_state=ACCEPTED)
    CorrectionFactory(label=None, review_state=ACCEPTED)
    assert list(corrections_for_training()) == [digit]
    assert [c.label for c in corrections_for_training(exclude_trained=True)] == [2]
