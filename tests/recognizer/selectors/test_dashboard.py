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


def test_live_accuracy_counts_a_number_wrong_when_its_truth_is_not_what_was_read():
    from recognizer.services.corrections import correction_number_set
    from tests.factories import NumberSubmissionFactory

    version = ModelVersionFactory()

    def number(read: str, true: str, not_digits: list[int] | None = None) -> None:
        submission = NumberSubmissionFactory(number=read, model_version=version)
        correction_number_set(submission=submission, number=true, not_digits=not_digits)

    number("2026", "2026")  # right: confirmed
    number("2028", "2026")  # wrong: a digit misread
    number("20126", "2026", [2])  # wrong: a stray mark read as a digit
    number("2026", "2026", [])  # right
    NumberSubmissionFactory(number="77", model_version=version)  # no feedback
    [row] = model_version_live_accuracy()
    assert (row["total"], row["feedback"], row["wrong"]) == (5, 4, 2)
