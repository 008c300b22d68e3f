"""Turn any picture of a digit into the 28x28 input the model was trained on.

MNIST was made by cropping each digit to its ink, scaling the longest side
to 20 pixels with anti-aliasing, and placing it in a 28x28 frame so that its
centre of mass sits at the centre. Every path that predicts (web page, API,
worker, tests, retraining) goes through `preprocess_bytes` or
`preprocess_image`, so training and serving agree on what a digit looks like.

Pure functions over Pillow and NumPy; no Django, no TensorFlow.
"""

from __future__ import annotations

import functools
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 28
BOX = 20
# The formats accepted, each with the content type and file extension it is stored and served with.
IMAGE_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),  # JPEGs from phone cameras that hold a second picture
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
    "BMP": ("image/bmp", "bmp"),
    "TIFF": ("image/tiff", "tif"),
}
ALLOWED_FORMATS = frozenset(IMAGE_FORMATS)
DEFAULT_MAX_PIXELS = 16_000_000
# Leading bytes of the accepted formats: a file that starts like one but
# cannot be read is a broken image, not an unsupported one.
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

# Below this contrast (0-255) between ink and background nothing was drawn.
MIN_CONTRAST = 32
# The ink level is what this many of the brightest pixels reach.
PEAK_PIXELS = 6
# Fewer ink pixels than this, once at model size, is a speck, not a digit.
MIN_INK_PIXELS = 4
# Stroke width over the digit's longest side: 98% of MNIST lies within
# 0.055-0.19 (median 0.10). Only strokes outside that are changed, and only
# back to its edge, so ordinary digits pass through untouched.
THIN_STROKE = 0.045
THIN_TARGET = 0.07
THICK_STROKE = 0.20
THICK_TARGET = 0.16


class ImageRejected(ValueError):
    """An image the recognizer will not predict; `code` is stable for programs."""

    code = "invalid_image"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class InvalidImage(ImageRejected):
    code = "invalid_image"


class UnsupportedFormat(ImageRejected):
    code = "unsupported_format"


class ImageTooLarge(ImageRejected):
    code = "image_too_large"


class EmptyImage(ImageRejected):
    code = "empty_image"


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open and fully decode image bytes, refusing bombs, bad files and odd formats.

    The header is read first, so an oversized image is refused before its
    pixels are decoded.
    """
    if not data:
        raise InvalidImage("The image is empty (0 bytes).")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ImageTooLarge("The image has too many pixels to decode safely.") from None
    except UnidentifiedImageError:
        if data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise InvalidImage("The image is corrupt: its header could not be read.") from None
        raise UnsupportedFormat(
            "The file is not an image in a supported format (PNG, JPEG, WebP, GIF, BMP, TIFF)."
        ) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"The image could not be read: {error}.") from None
    if image.format not in ALLOWED_FORMATS:
        raise UnsupportedFormat(
            f"{image.format or 'This'} images are not supported; send PNG, JPEG, WebP, GIF, BMP or TIFF."
        )
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage("The image has no pixels.")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width}x{height} pixels; at most {max_pixels / 1e6:g} megapixels are accepted."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)  # first frame of an animation
            image.load()
    except Image.DecompressionBombError:
        raise ImageTooLarge("The image is too large to decode safely.") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, EOFError) as error:
        raise InvalidImage(f"The image is corrupt or truncated: {error}.") from None
    return image


def to_gray_on_white(image: Image.Image) -> np.ndarray:
    """Return the image as uint8 grey levels with transparency made white.

    Applies the EXIF orientation first. Transparent pixels are composited on
    white: a canvas exports its untouched area as black with alpha 0.
    16-bit and float images are stretched to their own range.
    """
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        return ((array - low) * scale).astype(np.uint8)
    if image.mode in ("P", "PA", "LA", "La", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _histogram_median(values: np.ndarray) -> int:
    counts = np.cumsum(np.bincount(values, minlength=256))
    return int(np.searchsorted(counts, counts[-1] / 2))


def _ink_levels(gray: np.ndarray) -> np.ndarray:
    """Return, per grey level 0-255, its ink strength as float32 0-255 (see `ink_map`)."""
    height, width = gray.shape
    edge = max(1, min(height, width) // 20)
    border = np.concatenate(
        [gray[:edge].ravel(), gray[-edge:].ravel(), gray[:, :edge].ravel(), gray[:, -edge:].ravel()]
    )
    background = _histogram_median(border)
    # Everything below works on the 256 grey levels, not the pixels: one
    # histogram and one table lookup over the image, whatever its size.
    levels = np.arange(256)
    ink_levels = np.clip(levels - background if background < 128 else background - levels, 0, 255)
    # Pillow counts the grey levels in one pass; np.bincount would first widen every pixel to 64 bits.
    gray = np.ascontiguousarray(gray)
    histogram = np.array(Image.frombuffer("L", gray.shape[::-1], gray, "raw", "L", 0, 1).histogram(), np.float64)
    counts = np.bincount(ink_levels, weights=histogram, minlength=256)
    # The ink level: what the brightest few pixels reach, so one hot pixel
    # does not set it, yet a tiny digit on a big page still counts.
    from_top = np.cumsum(counts[::-1])
    peak = 255 - int(np.searchsorted(from_top, min(PEAK_PIXELS, max(1, gray.size // 1000))))
    if peak < MIN_CONTRAST:
        raise EmptyImage("No digit found: the image is blank or has too little contrast.")
    floor = peak * 0.25
    return np.clip((ink_levels - floor) * (255.0 / (peak - floor)), 0, 255).astype(np.float32)


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Return ink strength as float32 0-255 (ink bright, background 0), either polarity.

    The background is the colour of the border; ink is whatever differs from
    it. Faint background texture and noise below a quarter of the ink level
    drop out.
    """
    return np.take(_ink_levels(gray), gray)


def _strong(gray: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Return where `table[gray] > 127`, by one comparison: ink strength only grows away from the background."""
    levels = np.flatnonzero(table > 127)
    if levels.size == 0:
        return np.zeros(gray.shape, bool)
    if levels[-1] == 255 and levels.size == 256 - levels[0]:
        return gray >= levels[0]
    if levels[0] == 0 and levels.size == levels[-1] + 1:
        return gray <= levels[-1]
    return np.take(table > 127, gray)


def _ink_box(ink: np.ndarray, *, strong: np.ndarray | None = None) -> tuple[int, int, int, int]:
    # Rows and columns with a little real ink; ignores single stray pixels on huge images.
    strong = ink > 127 if strong is None else strong
    min_run = 1 if max(strong.shape) < 200 else 2
    rows = np.flatnonzero(np.count_nonzero(strong, axis=1) >= min_run)
    cols = np.flatnonzero(np.count_nonzero(strong, axis=0) >= min_run)
    if rows.size == 0 or cols.size == 0:
        rows = np.flatnonzero(strong.any(axis=1))
        cols = np.flatnonzero(strong.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        raise EmptyImage("No digit found: the image is blank or has too little contrast.")
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _erode(mask: np.ndarray) -> np.ndarray:
    # One 3x3 erosion of a boolean mask (outside the array counts as empty, so the border goes).
    out = np.zeros_like(mask)
    rows = mask[:, :-2] & mask[:, 1:-1] & mask[:, 2:]
    out[1:-1, 1:-1] = rows[:-2] & rows[1:-1] & rows[2:]
    return out


def stroke_ratio(ink: np.ndarray) -> float:
    """Estimate stroke width over the digit's longest side (MNIST: about 0.06-0.2).

    Each 3x3 erosion peels one pixel off both sides of a stroke, so after k
    of them a stroke of width w keeps 1 - 2k/w of its area; the first k that
    removes a good part of the ink gives w, whatever the digit's shape.
    """
    mask = ink > 0.5 * float(ink.max()) if ink.size else np.zeros((0, 0), bool)
    area = np.count_nonzero(mask)
    if area == 0:
        return 0.0
    steps, kept = 0, 1.0
    while kept > 0.6 and steps < max(mask.shape):
        mask = _erode(mask)
        steps += 1
        kept = np.count_nonzero(mask) / area
    width = 2.0 * steps / (1.0 - kept)
    return width / max(ink.shape)


def _square_filter(ink: np.ndarray, size: int, grow: bool) -> np.ndarray:
    # Separable max (dilation) or min (erosion) over a size x size square.
    pick = np.maximum if grow else np.minimum
    fill = 0.0 if grow else 255.0
    pad = size // 2
    padded = np.pad(ink, pad, constant_values=fill)
    rows = padded[:, 0 : padded.shape[1] - size + 1].copy()
    for shift in range(1, size):
        pick(rows, padded[:, shift : shift + rows.shape[1]], out=rows)
    out = rows[0 : rows.shape[0] - size + 1].copy()
    for shift in range(1, size):
        pick(out, rows[shift : shift + out.shape[0]], out=out)
    return out


def _normalize_stroke(digit: np.ndarray) -> np.ndarray:
    """Thicken hair-thin strokes and thin very fat ones, as MNIST's pens were."""
    longest = max(digit.shape)
    if longest > 4 * BOX:
        # Work at a few times model size: enough detail, little cost.
        scale = 4 * BOX / longest
        size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
        digit = resize_ink(digit, size, Image.Resampling.BOX)
        # Averaging dims a thin line; bring its ink back to full strength.
        digit = digit * (255.0 / max(float(digit.max()), 1e-6))
        longest = max(digit.shape)
    if longest < 12:
        return digit
    ratio = stroke_ratio(digit)
    if THIN_STROKE <= ratio <= THICK_STROKE:
        return digit
    grow = ratio < THIN_STROKE
    change = int(round(((THIN_TARGET - ratio) if grow else (ratio - THICK_TARGET)) * longest))
    if change < 1:
        return digit
    if grow:
        digit = np.pad(digit, change, constant_values=0.0)
    # A k x k square widens or narrows a stroke by k - 1 pixels.
    result = _square_filter(digit, change + 1, grow)
    if (result > 127).sum() < MIN_INK_PIXELS:
        return digit
    return result


def _clipped(values: np.ndarray) -> np.ndarray:
    """np.clip(values, 0, 255) by two ufuncs (np.clip's checks cost more than the work on 28x28)."""
    clipped = np.maximum(values, 0)
    return np.minimum(clipped, 255, out=clipped)


def resize_ink(ink: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """Resize a float ink map to `size` (width, height) with Pillow, as float32; the result is read only.

    Pillow reads the array's own memory and hands back its bytes: Image.fromarray and np.asarray would
    each copy through an encoder, which costs more than resizing a digit.
    """
    ink = np.ascontiguousarray(ink, dtype=np.float32)
    image = Image.frombuffer("F", (ink.shape[1], ink.shape[0]), ink, "raw", "F", 0, 1)
    return np.frombuffer(image.resize(size, resample).tobytes("raw", "F"), np.float32).reshape(size[1], size[0])


@functools.lru_cache(maxsize=512)
def _indices(shape: tuple[int, int]) -> np.ndarray:
    """np.indices(shape), made once per shape (a digit is at most 20x20 here), read only."""
    grid = np.indices(shape)
    grid.flags.writeable = False
    return grid


def center_digit(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit the longest side in 20 px, centre by mass in 28x28."""
    top, bottom, left, right = _ink_box(ink)
    return _center_cropped(np.ascontiguousarray(ink[top:bottom, left:right], dtype=np.float32))


def _center_cropped(digit: np.ndarray) -> np.ndarray:
    """`center_digit` of ink already cropped to its box (float32)."""
    cropped = digit.shape
    digit = _normalize_stroke(digit)
    if digit.shape != cropped:
        top, bottom, left, right = _ink_box(digit)
        digit = digit[top:bottom, left:right]
    height, width = digit.shape
    scale = BOX / max(height, width)
    new_w = max(1, int(round(width * scale)))
    new_h = max(1, int(round(height * scale)))
    small = _clipped(resize_ink(digit, (new_w, new_h), Image.Resampling.LANCZOS))
    peak = small.max()
    if peak <= 0:
        raise EmptyImage("No digit found: the image is blank or has too little contrast.")
    # Shrinking a thin line dims it; restore full ink strength as MNIST has.
    small = _clipped(small * (255.0 / peak))

    total = small.sum()
    ys, xs = _indices(small.shape)
    cy = float((ys * small).sum() / total)
    cx = float((xs * small).sum() / total)
    top = int(round(SIZE / 2 - cy))
    left = int(round(SIZE / 2 - cx))
    top = min(max(top, 0), SIZE - new_h)
    left = min(max(left, 0), SIZE - new_w)
    canvas = np.zeros((SIZE, SIZE), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = small
    out = np.round(canvas).astype(np.uint8)
    if (out > 64).sum() < MIN_INK_PIXELS:
        raise EmptyImage("No digit found: only a speck of ink.")
    return out


def preprocess_image(image: Image.Image) -> np.ndarray:
    """Return the uint8 (28, 28) model input for a decoded image (ink white on black)."""
    try:
        gray = to_gray_on_white(image)
    except (ValueError, OSError) as error:
        # Pillow decodes some colour spaces (CIELab TIFF, for one) it cannot convert.
        raise UnsupportedFormat(f"Images in the {image.mode} colour mode are not supported: {error}.") from None
    # `center_digit(ink_map(gray))`, with the ink map made only inside the digit's box: the box is found on
    # the grey levels themselves, since a level is strong ink exactly when it is far enough from the background.
    table = _ink_levels(gray)
    top, bottom, left, right = _ink_box(gray, strong=_strong(gray, table))
    return _center_cropped(np.take(table, gray[top:bottom, left:right]))


def preprocess_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode image bytes and return the uint8 (28, 28) model input."""
    return preprocess_image(open_image(data, max_pixels=max_pixels))


def pixels_to_bytes(pixels: np.ndarray) -> bytes:
    """Pack a (28, 28) uint8 array as the 784 bytes stored with a submission."""
    return np.ascontiguousarray(pixels, dtype=np.uint8).reshape(SIZE * SIZE).tobytes()


def bytes_to_pixels(data: bytes) -> np.ndarray:
    """Unpack 784 stored bytes into a (28, 28) uint8 array."""
    if len(data) != SIZE * SIZE:
        raise ValueError(f"Expected {SIZE * SIZE} bytes of pixels, got {len(data)}.")
    return np.frombuffer(bytes(data), dtype=np.uint8).reshape(SIZE, SIZE)


def pixels_to_png(pixels: np.ndarray, *, scale: int = 1, invert: bool = True) -> bytes:
    """Render model input as a PNG (dark ink on white by default) for display."""
    array = np.asarray(pixels, dtype=np.uint8)
    image = Image.fromarray(255 - array if invert else array, mode="L")
    if scale > 1:
        image = image.resize((SIZE * scale, SIZE * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
