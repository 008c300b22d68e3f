"""HTML bits the admins share: thumbnails, links to versions, percentages.

Images of submissions are personal data: they are shown only through the
site's owner-or-staff views, never through a public media URL.
"""

from __future__ import annotations

import base64

from django.urls import reverse
from django.utils.html import format_html

from recognizer.models import Correction, ModelVersion, Submission
from training.preprocessing import bytes_to_pixels, pixels_to_png


def input_data_uri(pixels: bytes) -> str:
    """Return the 28x28 input as an inline PNG (about 0.4 kB), so the list needs no request per row."""
    return "data:image/png;base64," + base64.b64encode(pixels_to_png(bytes_to_pixels(pixels))).decode("ascii")


def original_url(submission: Submission) -> str:
    """Return the address of the image as sent, served by the view that checks owner or staff."""
    return reverse("recognizer:submission_original", args=[submission.pk])


def input_url(submission: Submission, *, scale: int = 1) -> str:
    """Return the address of the 28x28 input, `scale` times larger, served by the view that checks owner or staff."""
    return reverse("recognizer:submission_input", args=[submission.pk]) + f"?scale={scale}"


def correction_of(submission: Submission) -> Correction | None:
    """Return the submission's correction, read from select_related without a query."""
    return getattr(submission, "correction", None) if submission.is_corrected else None


def version_link(version: ModelVersion | None) -> str:
    """Link to a version's admin page, or "-"."""
    if version is None:
        return "-"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:recognizer_modelversion_change", args=[version.pk]), version
    )


def percent(value: float | None) -> str:
    """Show a fraction as a percentage with two decimals, or "-"."""
    return "-" if value is None else f"{value:.2%}"
