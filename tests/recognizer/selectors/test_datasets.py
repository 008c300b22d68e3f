"""The dataset export."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from recognizer.models import Submission
from recognizer.selectors.datasets import dataset_export
from tests.factories import CorrectionFactory, SubmissionFactory
from training.data import read_idx

pytestmark = pytest.mark.django_db


def test_export_of_nothing_is_still_a_valid_dataset(tmp_path):
    out = io.BytesIO()
    summary = dataset_export(submissions=Submission.objects.none(), out=out)
    assert summary == {"count": 0, "from_corrections": 0, "skipped": 0, "not_digits": 0, "flagged": 0}
    zipfile.ZipFile(out).extractall(tmp_path)
    assert read_idx(tmp_path / "images-idx3-ubyte.gz").shape == (0, 28, 28)
    assert read_idx(tmp_path / "labels-idx1-ubyte.gz").shape == (0,)
    assert (tmp_path / "labels.csv").read_text().startswith("index,submission_id,label,")


def test_export_leaves_out_not_a_digit_corrections_and_flagged_predictions(tmp_path):
    digit = CorrectionFactory(label=3).submission
    not_a_digit = CorrectionFactory(label=None).submission
    flagged = SubmissionFactory(not_a_digit=True, predicted_digit=8)
    flagged_but_corrected = CorrectionFactory(label=8, submission__several_digits=True).submission
    plain = SubmissionFactory(predicted_digit=5, checked_digit=True)
    ids = [digit.pk, not_a_digit.pk, flagged.pk, flagged_but_corrected.pk, plain.pk]
    out = io.BytesIO()

    summary = dataset_export(submissions=Submission.objects.filter(pk__in=ids), out=out)

    assert summary == {"count": 3, "from_corrections": 2, "skipped": 0, "not_digits": 1, "flagged": 1}
    zipfile.ZipFile(out).extractall(tmp_path)
    assert read_idx(tmp_path / "labels-idx1-ubyte.gz").tolist() == [3, 8, 5]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "labels.csv").read_text())))
    assert [(int(r["submission_id"]), r["label_source"]) for r in rows] == [
        (digit.pk, "correction"),
        (flagged_but_corrected.pk, "correction"),
        (plain.pk, "prediction"),
    ]


def test_export_leaves_out_numbers_corrected_or_not(tmp_path):
    from recognizer.services.corrections import correction_number_set
    from tests.factories import NumberSubmissionFactory

    corrected = NumberSubmissionFactory(number="58")
    correction_number_set(submission=corrected, number="59")
    plain = NumberSubmissionFactory()
    digit = SubmissionFactory(predicted_digit=5)
    out = io.BytesIO()

    ids = [corrected.pk, plain.pk, digit.pk]
    summary = dataset_export(submissions=Submission.objects.filter(pk__in=ids), out=out)

    assert summary == {"count": 1, "from_corrections": 0, "skipped": 2, "not_digits": 0, "flagged": 0}
