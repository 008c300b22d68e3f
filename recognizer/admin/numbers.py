"""How the admin shows a number submission: its digits with their boxes, inputs, answers and true labels.

A number's correction is one row, reviewed as a whole or digit by digit
(`SubmissionAdmin.review_digits_view`), and these
show where it matters: the pieces whose true label differs from what the model read ("changed"), those marked not
a digit ("not-digit") and those an admin rejected ("rejected"), in the table, the thumbnails and on the picture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from PIL import Image

from recognizer.admin.display import correction_of, input_data_uri, original_url
from recognizer.models import Correction, Submission, SubmissionDigit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Piece:
    """One piece of a number as the admin shows it: what was read and what its owner said it is."""

    row: SubmissionDigit
    corrected: bool
    label: int | None  # the true digit; None when uncorrected or not a digit
    review: str  # the piece's review state, "" while uncorrected

    @property
    def not_digit(self) -> bool:
        return self.corrected and self.label is None

    @property
    def changed(self) -> bool:
        return self.not_digit or (self.corrected and self.label != self.row.predicted_digit)

    @property
    def css(self) -> str:
        """ "changed" (with "not-digit") where the owner said otherwise than the model; "rejected" on top."""
        classes = ["changed"] if self.changed else []
        classes += ["not-digit"] if self.not_digit else []
        classes += ["rejected"] if self.review == Correction.Review.REJECTED else []
        return " ".join(classes)

    @property
    def label_text(self) -> str:
        if not self.corrected:
            return "-"
        if self.not_digit:
            return Correction.NOT_A_DIGIT_TEXT
        return f"{self.label} ({'changed' if self.changed else 'confirms'})"

    @property
    def review_text(self) -> str:
        return Correction.Review(self.review).label if self.review else "-"

    @property
    def input_uri(self) -> str:
        return input_data_uri(self.row.pixels)

    @property
    def box_text(self) -> str:
        """The label drawn beside a piece's box: its true label, else what was read; "×" for not a digit."""
        if self.not_digit:
            return "×"
        return str(self.row.predicted_digit if not self.corrected else self.label)


def number_pieces(submission: Submission) -> list[Piece]:
    """Each piece found, left to right, with its true label and review state once corrected."""
    rows = submission.digit_rows
    correction = correction_of(submission)
    if correction is None or correction.digit_count != len(rows):
        return [Piece(row=row, corrected=False, label=None, review="") for row in rows]
    return [
        Piece(row=row, corrected=True, label=label, review=correction.digit_review_state(row.position))
        for row, label in zip(rows, correction.digit_labels, strict=True)
    ]


def review_digits_url(submission: Submission) -> str:
    return reverse("admin:recognizer_submission_review_digits", args=[submission.pk])


def number_inputs(submission: Submission) -> str:
    """The digits' 28x28 inputs side by side, for the review queue (inline, no request per digit)."""
    pieces = number_pieces(submission)
    if not pieces:
        return "-"
    return format_html_join(
        "",
        '<img class="digit-thumb number-thumb {}" src="{}" alt="digit {} of submission {}">',
        ((piece.css, piece.input_uri, piece.row.position, submission.pk) for piece in pieces),
    )


def number_digit_table(submission: Submission) -> str:
    """Every piece: position, input, box, what was read, the detector's verdict, its true label and its review."""
    pieces = number_pieces(submission)
    if not pieces:
        return "No digits."
    body = format_html_join(
        "",
        '<tr class="{}"><td>{}</td><td><img class="digit-thumb" src="{}" alt="digit {}"></td><td>{}</td>'
        "<td><b>{}</b> ({})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                piece.css,
                row.position,
                piece.input_uri,
                row.position,
                " ".join(str(v) for v in row.box),
                "-" if row.predicted_digit is None else row.predicted_digit,
                "-" if row.confidence is None else f"{row.confidence:.1%}",
                "–" if row.is_digit is None else "✓ digit" if row.is_digit else row.get_reason_display().lower(),
                piece.label_text,
                piece.review_text,
            )
            for piece in pieces
            for row in [piece.row]
        ),
    )
    head = (
        "<tr><th>#</th><th>input</th><th>box x y w h</th><th>read</th><th>digit?</th><th>true label</th>"
        "<th>review</th></tr>"
    )
    table = format_html('<table class="number-digits"><thead>{}</thead><tbody>{}</tbody></table>', head, body)
    if not pieces[0].corrected:
        return table
    link = format_html('<p><a href="{}">Review digit by digit</a></p>', review_digits_url(submission))
    return format_html("{}{}", table, link)


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
            (piece.css, *piece.row.box, piece.row.x, max(piece.row.y - 4, 12), piece.box_text)
            for piece in number_pieces(submission)
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
