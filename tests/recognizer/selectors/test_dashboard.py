"""Dashboard selectors with "not a digit": on either side of a correction."""

from __future__ import annotations

import pytest

from recognizer.selectors.dashboard import correction_confused_pairs, model_version_live_accuracy
from tests.factories import CorrectionFactory, ModelVersionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def test_live_accuracy_compares_the_correction_with_the_models_answer():
    version = ModelVersionFactory()
    # Wrong: a digit answer said not to be a digit, whether the detector checked it or not.
    CorrectionFactory(label=None, submission__predicted_digit=4, submission__model_version=version)
    CorrectionFactory(
        label=None, submission__predicted_digit=4, submission__checked_digit=True, submission__model_version=version
    )
    # Wrong: a "not a digit" answer that was a digit, even its closest one.
    CorrectionFactory(
        label=4, submission__predicted_digit=4, submission__not_a_digit=True, submission__model_version=version
    )
    # Right: a "not a digit" answer confirmed, and a digit confirmed.
    CorrectionFactory(
        label=None, submission__predicted_digit=1, submission__several_digits=True, submission__model_version=version
    )
    CorrectionFactory(label=6, submission__predicted_digit=6, submission__model_version=version)
    # Right: nobody objected to a flagged answer.
    SubmissionFactory(predicted_digit=3, not_a_digit=True, model_version=version)

    (row,) = [row for row in model_version_live_accuracy() if row["number"] == version.number]

    assert (row["total"], row["feedback"], row["wrong"]) == (6, 5, 3)


def test_confused_pairs_leave_not_a_digit_out():
    CorrectionFactory(label=None, submission__predicted_digit=4)
    CorrectionFactory(label=7, submission__predicted_digit=1)
    assert correction_confused_pairs() == [{"true": 7, "predicted": 1, "count": 1}]
