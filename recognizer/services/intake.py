"""Image intake: check an uploaded picture and turn it into the model's input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer import conf, metrics
from training.preprocessing import IMAGE_FORMATS, ImageTooLarge, open_image, preprocess_image

# Every content type an accepted image is served with.
IMAGE_CONTENT_TYPES = sorted({content_type for content_type, _extension in IMAGE_FORMATS.values()})


@dataclass(frozen=True)
class PreparedImage:
    """An accepted image: its bytes as received, the 28x28 input, and how to store and serve it."""

    data: bytes
    pixels: np.ndarray
    content_type: str
    extension: str


@metrics.preprocessing_timed
def image_prepare(*, data: bytes) -> PreparedImage:
    """Check one image and compute its model input.

    Raises ImageRejected (with a stable `code`) for anything that cannot be
    predicted: too many bytes or pixels, not an image, an unsupported
    format, nothing drawn.
    """
    limit = conf.max_upload_bytes()
    if len(data) > limit:
        raise ImageTooLarge(f"Image is larger than {limit / (1024 * 1024):g} MB.")
    image = open_image(data, max_pixels=conf.max_pixels())
    content_type, extension = IMAGE_FORMATS[image.format]
    return PreparedImage(data=data, pixels=preprocess_image(image), content_type=content_type, extension=extension)
