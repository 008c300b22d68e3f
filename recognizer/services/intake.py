"""Image intake: check an uploaded picture and turn it into the model's input (one digit, or a number's digits)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from recognizer import conf, metrics
from recognizer.models import ModelVersion
from training.preprocessing import IMAGE_FORMATS, ImageRejected, ImageTooLarge, open_image, preprocess_image
from training.segmentation import MAX_DIGITS, DigitCrop, TooManyDigits, segment_image

# Every content type an accepted image is served with.
IMAGE_CONTENT_TYPES = sorted({content_type for content_type, _extension in IMAGE_FORMATS.values()})


@dataclass(frozen=True)
class PreparedImage:
    """An accepted image: its bytes as received, the 28x28 input, and how to store and serve it.

    A number's image has no single input (`pixels` is None) but its digits, left to right.
    """

    data: bytes
    pixels: np.ndarray | None
    content_type: str
    extension: str
    digits: tuple[DigitCrop, ...] = ()


def _image_open(data: bytes) -> Image.Image:
    """The checks every picture goes through: its size in bytes and pixels, and its format."""
    limit = conf.max_upload_bytes()
    if len(data) > limit:
        raise ImageTooLarge(f"Image is larger than {limit / (1024 * 1024):g} MB.")
    return open_image(data, max_pixels=conf.max_pixels())


@metrics.preprocessing_timed
def image_prepare(*, data: bytes) -> PreparedImage:
    """Check one image and compute its model input.

    Raises ImageRejected (with a stable `code`) for anything that cannot be
    predicted: too many bytes or pixels, not an image, an unsupported
    format, nothing drawn.
    """
    image = _image_open(data)
    content_type, extension = IMAGE_FORMATS[image.format]
    return PreparedImage(data=data, pixels=preprocess_image(image), content_type=content_type, extension=extension)


@metrics.preprocessing_timed
def number_prepare(*, data: bytes, version: ModelVersion) -> PreparedImage:
    """Check a picture of a number and find its digits, with `version`'s classifier and detector choosing the cuts.

    The same checks and errors as `image_prepare`, and two more: EmptyImage
    when no digit is found, and ImageRejected with the code
    `too_many_digits` beyond MAX_DIGITS digits.
    """
    from recognizer.inference import engine

    image = _image_open(data)
    content_type, extension = IMAGE_FORMATS[image.format]
    try:
        digits = segment_image(image, score=engine.digit_score(version=version), max_digits=MAX_DIGITS)
    except TooManyDigits as error:
        raise ImageRejected(str(error), code="too_many_digits") from None
    return PreparedImage(data=data, pixels=None, content_type=content_type, extension=extension, digits=tuple(digits))
