"""Export submissions as an MNIST-style dataset (a read: nothing in the database changes)."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.db.models import QuerySet

from recognizer.models import Correction, Submission, SubmissionDigit
from training.data import write_idx
from training.preprocessing import bytes_to_pixels

DATASET_CSV_COLUMNS = (
    "index",
    "submission_id",
    "label",
    "label_source",
    "predicted_digit",
    "confidence",
    "review_state",
    "model_version",
    "owner_id",
    "source",
    "created_at",
    "position",
)
# How many submissions are read at a time; a number's pieces are read once per such chunk.
CHUNK = 1000
# What the summary counts besides the images written; "prediction" labels are the rest.
SUMMARY_COUNTS = ("from_corrections", "skipped", "not_digits", "flagged")
_FIELDS = (
    "pk",
    "kind",
    "pixels",
    "predicted_digit",
    "confidence",
    "is_digit",
    "correction__pk",
    "correction__label",
    "correction__number",
    "correction__not_digits",
    "correction__rejected_digits",
    "correction__review_state",
    "model_version__number",
    "owner_id",
    "source",
    "created_at",
)


def dataset_export(*, submissions: QuerySet[Submission], out: BinaryIO) -> dict:
    """Write `submissions` into `out` as a zip holding an MNIST-style dataset.

    `images-idx3-ubyte.gz` holds the 28x28 inputs (uint8, white ink on black,
    as MNIST), `labels-idx1-ubyte.gz` the labels, and `labels.csv` one row per
    image in the same order. The label is the corrected one if there is a
    correction, otherwise the prediction. Left out, and counted: submissions
    with neither (pending, failed: `skipped`), those corrected to "not a
    digit" (`not_digits`), and uncorrected ones the model itself flagged as
    not a digit (`flagged`: their closest digit is no label). A number is
    exported digit by digit, each piece found as one image (`position` in the
    CSV, 0 the leftmost) under the same rules: its label from the corrected
    number, else what was read; pieces marked not a digit, flagged or not yet
    read are left out and counted one by one. Returns
    {"count", "from_corrections", "skipped", "not_digits", "flagged"}.
    """
    images, labels = [], []
    counts: Counter[str] = Counter()
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(DATASET_CSV_COLUMNS)
    for record in _digit_records(submissions):
        label, outcome = _label_of(record)
        counts[outcome] += 1
        if label is None:
            continue
        images.append(bytes_to_pixels(record["pixels"]))
        labels.append(label)
        writer.writerow(_csv_row(len(labels) - 1, label, record))
    _write_archive(out, images=images, labels=labels, table=table.getvalue())
    return {"count": len(labels), **{key: counts[key] for key in SUMMARY_COUNTS}}


def _digit_records(submissions: QuerySet[Submission]) -> Iterator[dict]:
    """One record per image to export, in submission order: a digit's, or one for each piece of a number."""
    rows = submissions.order_by("pk").values_list(*_FIELDS).iterator(chunk_size=CHUNK)
    while chunk := [dict(zip(_FIELDS, row, strict=True)) for row in islice(rows, CHUNK)]:
        pieces = _number_pieces([record["pk"] for record in chunk if record["kind"] == Submission.Kind.NUMBER])
        for record in chunk:
            if record["kind"] == Submission.Kind.NUMBER:
                yield from _piece_records(record, pieces[record["pk"]])
            else:
                yield {**record, "position": None}


def _number_pieces(submission_ids: list[int]) -> dict[int, list[dict]]:
    """The pieces of these numbers, left to right, with their inputs and predictions: one query (none for none)."""
    pieces: dict[int, list[dict]] = defaultdict(list)
    if not submission_ids:
        return pieces
    fields = ("submission_id", "position", "pixels", "predicted_digit", "confidence", "is_digit")
    for row in (
        SubmissionDigit.objects.filter(submission_id__in=submission_ids)
        .order_by("submission_id", "position")
        .values(*fields)
    ):
        pieces[row["submission_id"]].append(row)
    return pieces


def _piece_records(record: dict, pieces: list[dict]) -> Iterator[dict]:
    """A number's pieces as records of single digits: each its input, its prediction and its true label, if any."""
    correction = None
    if record["correction__pk"] is not None and record["correction__number"] is not None:
        correction = Correction(
            number=record["correction__number"],
            not_digits=record["correction__not_digits"] or [],
            rejected_digits=record["correction__rejected_digits"] or [],
            review_state=record["correction__review_state"],
        )
        if correction.digit_count != len(pieces):  # not the pieces it labelled: read as uncorrected
            correction = None
    labels = correction.digit_labels if correction is not None else [None] * len(pieces)
    for piece, label in zip(pieces, labels, strict=True):
        yield {
            **record,
            **{key: piece[key] for key in ("position", "pixels", "predicted_digit", "confidence", "is_digit")},
            "correction__pk": None if correction is None else record["correction__pk"],
            "correction__label": label,
            "correction__review_state": "" if correction is None else correction.digit_review_state(piece["position"]),
        }


def _label_of(record: dict) -> tuple[int | None, str]:
    """Return a digit's (or a piece's) label (None: left out) and the summary count it adds to."""
    if record["correction__pk"] is not None:
        corrected = record["correction__label"]
        return corrected, "from_corrections" if corrected is not None else "not_digits"
    if record["predicted_digit"] is None:
        return None, "skipped"
    if record["is_digit"] is False:
        return None, "flagged"
    return record["predicted_digit"], "prediction"


def _csv_row(index: int, label: int, record: dict) -> list:
    def blank_if_none(value) -> object:
        return "" if value is None else value

    confidence = record["confidence"]
    return [
        index,
        record["pk"],
        label,
        "correction" if record["correction__pk"] is not None else "prediction",
        blank_if_none(record["predicted_digit"]),
        "" if confidence is None else f"{confidence:.6f}",
        record["correction__review_state"] or "",
        blank_if_none(record["model_version__number"]),
        record["owner_id"],
        record["source"],
        record["created_at"].isoformat(),
        blank_if_none(record["position"]),
    ]


def _write_archive(out: BinaryIO, *, images: list[np.ndarray], labels: list[int], table: str) -> None:
    image_array = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    with tempfile.TemporaryDirectory(prefix="digits-export-") as folder, zipfile.ZipFile(out, "w") as archive:
        for name, array in (("images-idx3-ubyte.gz", image_array), ("labels-idx1-ubyte.gz", np.array(labels))):
            write_idx(Path(folder) / name, array)
            archive.write(Path(folder) / name, name)
        archive.writestr("labels.csv", table)
