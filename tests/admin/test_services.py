"""The services behind the review queue's actions: relabel, re-open, dataset export."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError

from recognizer import services
from recognizer.models import Correction, Submission
from tests.factories import CorrectionFactory, SubmissionFactory
from training.data import read_idx

pytestmark = pytest.mark.django_db


def test_relabel_counts_only_what_changed(staff_user, versions):
    accepted = CorrectionFactory(review_state=Correction.Review.ACCEPTED, trained_in=versions[1])
    ids = [accepted.submission_id]
    assert services.corrections_relabel(submission_ids=ids, label=accepted.label, reviewer=staff_user) == 0
    accepted.refresh_from_db()
    assert accepted.trained_in == versions[1]  # same label: still counts as trained
    new_label = (accepted.label + 1) % 10
    assert services.corrections_relabel(submission_ids=ids, label=new_label, reviewer=staff_user) == 1
    accepted.refresh_from_db()
    assert accepted.trained_in is None
    assert [entry["label"] for entry in accepted.history] == [(new_label - 1) % 10]


@pytest.mark.parametrize("label", [-1, 10, "3", True, None])
def test_relabel_refuses_anything_but_a_digit(staff_user, label):
    submission = SubmissionFactory()
    with pytest.raises(ValidationError):
        services.corrections_relabel(submission_ids=[submission.pk], label=label, reviewer=staff_user)
    assert not Correction.objects.exists()


def test_reopen_returns_what_it_withdrew_and_skips_uncorrected(staff_user):
    correction = CorrectionFactory(review_state=Correction.Review.REJECTED)
    plain = SubmissionFactory()
    withdrawn = services.submissions_reopen(submission_ids=[correction.submission_id, plain.pk], reviewer=staff_user)
    assert withdrawn == [
        {"submission_id": correction.submission_id, "label": correction.label, "review_state": "rejected"}
    ]
    assert not Submission.objects.get(pk=correction.submission_id).is_corrected
    assert services.submissions_reopen(submission_ids=[correction.submission_id], reviewer=staff_user) == []


def test_export_of_nothing_is_still_a_valid_dataset(tmp_path):
    out = io.BytesIO()
    summary = services.dataset_export(submissions=Submission.objects.none(), out=out)
    assert summary == {"count": 0, "from_corrections": 0, "skipped": 0}
    zipfile.ZipFile(out).extractall(tmp_path)
    assert read_idx(tmp_path / "images-idx3-ubyte.gz").shape == (0, 28, 28)
    assert read_idx(tmp_path / "labels-idx1-ubyte.gz").shape == (0,)
    assert (tmp_path / "labels.csv").read_text().startswith("index,submission_id,label,")
