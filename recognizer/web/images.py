"""A submission's pictures, as sent and as the model saw it: for its owner and for staff only.

People's drawings are personal data, so they are never published as media
files: these views (and the API's image endpoint) are the only way to them.
Someone else's submission is a 404, as if it did not exist; staff may read
any (the selector decides). The pages and the admin's thumbnails use them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from recognizer.models import Submission
from recognizer.selectors.submissions import submission_get
from recognizer.services.intake import IMAGE_CONTENT_TYPES
from training.preprocessing import bytes_to_pixels, pixels_to_png

MAX_SCALE = 10
# A stored input never changes; an original neither, but it is deleted with its submission.
INPUT_MAX_AGE = 86400
ORIGINAL_MAX_AGE = 3600


def _readable(request: HttpRequest, submission_id: int) -> Submission:
    try:
        return submission_get(user=request.user, submission_id=submission_id)
    except Submission.DoesNotExist:
        raise Http404("No such submission.") from None


def _private(response: HttpResponse, *, max_age: int) -> HttpResponse:
    """Mark a picture as private to this browser and as a passive file that never runs."""
    response["Cache-Control"] = f"private, max-age={max_age}"
    # Only ever a picture: no sniffing it into HTML, no scripts even if opened directly.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _scale(request: HttpRequest) -> int:
    try:
        return min(MAX_SCALE, max(1, int(request.GET.get("scale", 1))))
    except ValueError:
        return 1


@login_required
@require_GET
def submission_input(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The 28x28 image the model saw, as PNG (dark ink on white), `?scale=` 1 to 10 times larger."""
    submission = _readable(request, submission_id)
    png = pixels_to_png(bytes_to_pixels(submission.pixels), scale=_scale(request))
    return _private(HttpResponse(png, content_type="image/png"), max_age=INPUT_MAX_AGE)


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
    return _private(response, max_age=ORIGINAL_MAX_AGE)


@login_required
@require_GET
def submission_original(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The image as it was sent, shown in the page (the API's image endpoint offers it as a download)."""
    try:
        return original_response(_readable(request, submission_id))
    except FileNotFoundError as error:
        raise Http404(str(error)) from None
