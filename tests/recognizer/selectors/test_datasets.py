"""The dataset export."""

from __future__ import annotations

import io
import zipfile

import pytest

from recognizer.models import Submission
from recognizer.selectors.datasets import dataset_export
from training.data import read_idx

pytestmark = pytest.mark.django_db


def test_export_of_nothing_is_still_a_valid_dataset(tmp_path):
    out = io.BytesIO()
    summary = dataset_export(submissions=Submission.objects.none(), out=out)
    assert summary == {"count": 0, "from_corrections": 0, "skipped": 0}
    zipfile.ZipFile(out).extractall(tmp_path)
    assert read_idx(tmp_path / "images-idx3-ubyte.gz").shape == (0, 28, 28)
    assert read_idx(tmp_path / "labels-idx1-ubyte.gz").shape == (0,)
    assert (tmp_path / "labels.csv").read_text().startswith("index,submission_id,label,")
