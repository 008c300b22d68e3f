"""A submission's pictures, as sent and as the model saw it: for its owner and for staff only.

People's drawings are personal data, so they are never published as media
files: these views (and the API's image endpoint) are the only way to them.
Someone else's submission is a 404, as if it did not exist; staff may read
any (the selector decides). The pages and the admin's thumbnails use them.
"""

from __future__ import annotations

import numpy as np
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from recognizer.models import Submission
from recognizer.pictures import INPUT_MAX_AGE, original_response, private_picture
from recognizer.selectors.submissions import submission_get
from training.preprocessing import bytes_to_pixels, pixels_to_png

MAX_SCALE = 10
# A stored input never changes; an original neither, but it is deleted with its submission.


def _readable(request: HttpRequest, submission_id: int) -> Submission:
    try:
        return submission_get(user=request.user, submission_id=submission_id)
    except Submission.DoesNotExist:
        raise Http404("No such submission.") from None


def _scale(request: HttpRequest) -> int:
    try:
        return min(MAX_SCALE, max(1, int(request.GET.get("scale", 1))))
    except ValueError:
        return 1


@login_required
@require_GET
def submission_input(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The 28x28 image the model saw, as PNG (dark ink on white), `?scale=` 1 to 10 times larger.

    For a number: its digits' inputs side by side, left to right.
    """
    submission = _readable(request, submission_id)
    if not submission.is_number:
        png = pixels_to_png(bytes_to_pixels(submission.pixels), scale=_scale(request))
    else:
        rows = submission.digits.order_by("position").values_list("pixels", flat=True)
        strip = np.hstack([bytes_to_pixels(pixels) for pixels in rows] or [np.zeros((28, 28), np.uint8)])
        scale = _scale(request)
        png = pixels_to_png(np.repeat(np.repeat(strip, scale, axis=0), scale, axis=1))
    return private_picture(HttpResponse(png, content_type="image/png"), max_age=INPUT_MAX_AGE)


@login_required
@require_GET
def submission_original(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The image as it was sent, shown in the page (the API's image endpoint offers it as a download)."""
    try:
        return original_response(_readable(request, submission_id))
    except FileNotFoundError as error:
        raise Http404(str(error)) from None
