"""How the admin shows a number submission: its digits with their boxes, inputs, answers and true labels.

A number is reviewed as a whole (its correction is one row), and these show where it matters: the digits whose
true label differs from what the model read are marked, in the table and on the picture.
"""

from __future__ import annotations

import logging

from django.utils.html import format_html, format_html_join
from PIL import Image

from recognizer.admin.display import correction_of, input_data_uri, original_url
from recognizer.models import Submission, SubmissionDigit

logger = logging.getLogger(__name__)


def _true_labels(submission: Submission) -> list[int | None]:
    """Each digit's true label: the corrected number's digit at its place, or None while uncorrected."""
    correction = correction_of(submission)
    labels = correction.digit_labels if correction is not None else []
    return labels if len(labels) == len(submission.digit_rows) else [None] * len(submission.digit_rows)


def _changed(row: SubmissionDigit, label: int | None) -> bool:
    return label is not None and label != row.predicted_digit


def _digits(submission: Submission) -> list[tuple[SubmissionDigit, int | None, str]]:
    """Each digit with its true label (None while uncorrected) and its CSS class: "changed" or ""."""
    labels = _true_labels(submission)
    return [
        (row, label, "changed" if _changed(row, label) else "")
        for row, label in zip(submission.digit_rows, labels, strict=True)
    ]


def number_inputs(submission: Submission) -> str:
    """The digits' 28x28 inputs side by side, for the review queue (inline, no request per digit)."""
    if not submission.digit_rows:
        return "-"
    return format_html_join(
        "",
        '<img class="digit-thumb number-thumb {}" src="{}" alt="digit {} of submission {}">',
        (
            (changed, input_data_uri(row.pixels), row.position, submission.pk)
            for row, _label, changed in _digits(submission)
        ),
    )


def number_digit_table(submission: Submission) -> str:
    if not submission.digit_rows:
        return "No digits."
    body = format_html_join(
        "",
        '<tr class="{}"><td>{}</td><td><img class="digit-thumb" src="{}" alt="digit {}"></td><td>{}</td>'
        "<td><b>{}</b> ({})</td><td>{}</td><td>{}</td></tr>",
        (
            (
                changed,
                row.position,
                input_data_uri(row.pixels),
                row.position,
                " ".join(str(v) for v in row.box),
                "-" if row.predicted_digit is None else row.predicted_digit,
                "-" if row.confidence is None else f"{row.confidence:.1%}",
                "–" if row.is_digit is None else "✓ digit" if row.is_digit else row.get_reason_display().lower(),
                "-" if label is None else f"{label} ({changed or 'confirms'})",
            )
            for row, label, changed in _digits(submission)
        ),
    )
    head = "<tr><th>#</th><th>input</th><th>box x y w h</th><th>read</th><th>digit?</th><th>true label</th></tr>"
    return format_html('<table class="number-digits"><thead>{}</thead><tbody>{}</tbody></table>', head, body)


def _picture_size(submission: Submission) -> tuple[int, int] | None:
    try:
        with submission.image.open("rb") as file, Image.open(file) as image:
            return image.size
    except Exception:  # a missing or unreadable file: the picture is shown without its boxes
        logger.warning("Could not read the size of submission %s's picture.", submission.pk, exc_info=True)
        return None


def number_original(submission: Submission) -> str:
    """The picture as sent with each digit's box drawn over it and its label beside, in SVG (no inline style)."""
    url = original_url(submission)
    size = _picture_size(submission)
    if size is None:
        return format_html('<img class="digit-original" src="{}" alt="original">', url)
    width, height = size
    boxes = format_html_join(
        "",
        '<rect class="digit-box {}" x="{}" y="{}" width="{}" height="{}"></rect>'
        '<text class="digit-box-label" x="{}" y="{}">{}</text>',
        (
            (changed, *row.box, row.x, max(row.y - 4, 12), row.predicted_digit if label is None else label)
            for row, label, changed in _digits(submission)
        ),
    )
    return format_html(
        '<svg class="number-original" viewBox="0 0 {} {}" role="img" aria-label="original with the digits found">'
        '<image href="{}" width="{}" height="{}"></image>{}</svg>',
        width,
        height,
        url,
        width,
        height,
        boxes,
    )
