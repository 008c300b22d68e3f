"""Make test images: MNIST digits re-drawn the ways people send them."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from training.data import load_sample


@functools.cache
def bundled_sample():
    """The bundled MNIST sample, read from disk once per test process."""
    return load_sample()


def sample_digit(index: int = 0, *, split: str = "test") -> tuple[np.ndarray, int]:
    """Return one bundled MNIST image (28x28 uint8, ink white) and its label."""
    data = bundled_sample()
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_train, data.y_train)
    return x[index], int(y[index])


def digit_image(
    pixels: np.ndarray,
    *,
    size: int = 280,
    canvas: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
    dark_on_light: bool = True,
    transparent: bool = False,
    mode: str = "L",
) -> Image.Image:
    """Scale a 28x28 digit to `size` px and place it on a canvas the way a person would."""
    ink = Image.fromarray(np.asarray(pixels, np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    width, height = canvas or (size, size)
    if transparent:
        out = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        layer = Image.new("RGBA", (size, size), (0, 0, 0, 255))
        layer.putalpha(ink)
        out.alpha_composite(layer, dest=offset)
        return out
    background = Image.new("L", (width, height), 0)
    background.paste(ink, offset)
    gray = Image.fromarray(255 - np.asarray(background)) if dark_on_light else background
    if mode == "1":  # a bilevel scan thresholds; it does not dither
        return gray.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    return gray.convert(mode)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def digit_png(index: int = 0, **kwargs) -> bytes:
    pixels, _ = sample_digit(index)
    return encode(digit_image(pixels, **kwargs))


def blank_png(size: int = 280, color: int = 255) -> bytes:
    return encode(Image.new("L", (size, size), color))


def number_png(digits: str, *, seed: int = 1, layout: str = "separated", height: int = 64) -> bytes:
    """A number pen-drawn in a row, as a black-on-white file: the check set's way (small seeds only)."""
    from training.numbers import drawn_row, render, strokes_to_ink

    rng = np.random.default_rng([0x7E57, seed])
    ink = strokes_to_ink(drawn_row(rng, digits, layout), rng, height=height)
    margin = height // 2
    page = np.pad(ink, margin)
    return render(page, rng, "file")
