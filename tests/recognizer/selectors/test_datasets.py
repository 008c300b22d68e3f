"""The dataset export."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from recognizer.models import Submission
from recognizer.selectors.datasets import dataset_export
from recognizer.services.corrections import correction_digits_review, correction_number_set
from tests.factories import CorrectionFactory, NumberSubmissionFactory, SubmissionFactory
from training.data import read_idx
from training.preprocessing import bytes_to_pixels

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


def _export(tmp_path, submissions) -> tuple[dict, np.ndarray, list[int], list[dict]]:
    out = io.BytesIO()
    ids = [submission.pk for submission in submissions]
    summary = dataset_export(submissions=Submission.objects.filter(pk__in=ids), out=out)
    zipfile.ZipFile(out).extractall(tmp_path)
    images = read_idx(tmp_path / "images-idx3-ubyte.gz")
    labels = read_idx(tmp_path / "labels-idx1-ubyte.gz").tolist()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "labels.csv").read_text())))
    return summary, images, labels, rows


def _inputs(submission) -> list[np.ndarray]:
    return [bytes_to_pixels(row.pixels) for row in submission.digits.order_by("position")]


def test_a_number_is_exported_digit_by_digit_with_its_corrected_labels(tmp_path, staff_user):
    number = NumberSubmissionFactory(number="20126")
    correction = correction_number_set(submission=number, number="2027", not_digits=[2])
    correction_digits_review(correction_id=correction.pk, rejected_digits=[4], reviewer=staff_user)
    digit = CorrectionFactory(label=3).submission

    summary, images, labels, rows = _export(tmp_path, [number, digit])

    # Four digits of the number (the piece marked not a digit left out), then the single digit.
    assert summary == {"count": 5, "from_corrections": 5, "skipped": 0, "not_digits": 1, "flagged": 0}
    assert labels == [2, 0, 2, 7, 3]
    pieces = _inputs(number)
    for index, position in enumerate((0, 1, 3, 4)):
        assert np.array_equal(images[index], pieces[position])
    assert [(r["submission_id"], r["position"], r["label_source"], r["review_state"]) for r in rows] == [
        (str(number.pk), "0", "correction", "accepted"),
        (str(number.pk), "1", "correction", "accepted"),
        (str(number.pk), "3", "correction", "accepted"),
        (str(number.pk), "4", "correction", "rejected"),  # rejected digit by digit: said, as for a single digit
        (str(digit.pk), "", "correction", "pending"),
    ]
    assert [r["predicted_digit"] for r in rows[:4]] == ["2", "0", "2", "6"]
    assert [r["index"] for r in rows] == ["0", "1", "2", "3", "4"]


def test_an_uncorrected_number_exports_what_was_read_less_the_flagged_pieces(tmp_path):
    number = NumberSubmissionFactory(number="481")
    number.digits.filter(position=1).update(is_digit=False, reason=Submission.Reason.NOT_A_DIGIT)
    pending = NumberSubmissionFactory(number="12", status=Submission.Status.PENDING)
    pending.digits.update(predicted_digit=None, confidence=None, is_digit=None)

    summary, images, labels, rows = _export(tmp_path, [number, pending])

    assert summary == {"count": 2, "from_corrections": 0, "skipped": 2, "not_digits": 0, "flagged": 1}
    assert labels == [4, 1]
    assert [(r["position"], r["label_source"], r["review_state"]) for r in rows] == [
        ("0", "prediction", ""),
        ("2", "prediction", ""),
    ]
    pieces = _inputs(number)
    assert np.array_equal(images[0], pieces[0]) and np.array_equal(images[1], pieces[2])


def test_the_export_reads_a_numbers_pieces_once_per_chunk(tmp_path, django_assert_max_num_queries):
    numbers = [NumberSubmissionFactory(number="12") for _ in range(5)]
    digits = SubmissionFactory.create_batch(3)
    out = io.BytesIO()
    ids = [s.pk for s in [*numbers, *digits]]
    with django_assert_max_num_queries(2):  # the submissions, and the pieces of the numbers among them
        summary = dataset_export(submissions=Submission.objects.filter(pk__in=ids), out=out)
    assert summary["count"] == 13


def test_numbers_and_digits_keep_their_order_across_chunks(tmp_path, monkeypatch):
    from recognizer.selectors import datasets

    monkeypatch.setattr(datasets, "CHUNK", 2)
    made = [
        NumberSubmissionFactory(number="12"),
        SubmissionFactory(predicted_digit=5),
        SubmissionFactory(predicted_digit=6),
        NumberSubmissionFactory(number="347"),
        SubmissionFactory(predicted_digit=8),
    ]
    _summary, _images, labels, rows = _export(tmp_path, made)
    assert labels == [1, 2, 5, 6, 3, 4, 7, 8]
    assert [int(r["submission_id"]) for r in rows] == [made[i].pk for i in (0, 0, 1, 2, 3, 3, 3, 4)]
