"""Answers that carry a submission's pictures: private to the browser, passive files that never run.

Shared by the pages (`recognizer/web/images.py`) and the API's image endpoint.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse

from recognizer.models import Submission
from recognizer.services.intake import IMAGE_CONTENT_TYPES

# A stored input never changes; an original neither, but it is deleted with its submission.
INPUT_MAX_AGE = 86400
ORIGINAL_MAX_AGE = 3600


def private_picture(response: HttpResponse, *, max_age: int) -> HttpResponse:
    """Mark a picture as private to this browser and as a passive file that never runs."""
    response["Cache-Control"] = f"private, max-age={max_age}"
    # Only ever a picture: no sniffing it into HTML, no scripts even if opened directly.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def original_response(submission: Submission, *, download: bool = False) -> FileResponse:
    """Answer the submission's image as it was sent; raise FileNotFoundError if storage lost it.

    With `download`, browsers save it as `submission-<id>.<ext>` instead of showing it.
    """
    try:
        handle = submission.image.open("rb")
    except (OSError, ValueError) as error:  # the file is gone from storage
        raise FileNotFoundError("The image file is no longer stored.") from error
    content_type = submission.image_content_type
    if content_type not in IMAGE_CONTENT_TYPES:
        content_type = "application/octet-stream"
    extension = submission.image.name.rsplit(".", 1)[-1]
    filename = f"submission-{submission.pk}.{extension}" if download else ""
    response = FileResponse(handle, content_type=content_type, as_attachment=False, filename=filename)
    return private_picture(response, max_age=ORIGINAL_MAX_AGE)
