"""Written numbers of our own making: digits in a row, for reading numbers and for the several-digit checks.

A number is 2 to 8 digits (any count the caller asks for) from two sources:
pen-drawn from the stroke templates of `training.drawn_digits`, or MNIST
*training* images passed in by the caller (never test images). Digits sit
in a row `separated`, `close` or `touching` (`overlapping` is for the
several-digit outliers), each at its own size on an uneven baseline, and
the row is sent the ways people send pictures:

- `canvas`: a transparent PNG with dark ink, as the draw page exports it;
- `file`: black ink on white, a scanned or saved file;
- `photo`: blue ink on tinted, unevenly lit, grainy paper, saved as JPEG;
- `dark` (not in the default turn, used by `training.font_digits`): light ink on a dark ground.

Checks use small seeds (0, 1, 7) and never feed training.

    python -m training.numbers --count 40 --out /tmp/numbers   # write PNG/JPEG files to look at
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.data import training_images_only
from training.drawn_digits import digit_strokes

# Gaps between neighbours, in digit heights; "overlapping" goes into the narrower neighbour instead.
GAPS = {"separated": (0.15, 0.6), "close": (0.02, 0.12), "touching": (-0.06, 0.0)}
LAYOUTS = ("separated", "close", "touching")
RENDERINGS = ("canvas", "file", "photo")


def row_corners(boxes: np.ndarray, layout: str, rng: np.random.Generator) -> np.ndarray:
    """Return top-left corners placing boxes (width, height) in a row with `layout` gaps and uneven baselines."""
    unit = float(boxes[:, 1].mean())
    corners, x = [], 0.0
    for index, (width, height) in enumerate(boxes):
        if index:
            before = boxes[index - 1, 0]
            if layout == "overlapping":
                gap = -rng.uniform(0.2, 0.45) * min(before, width)
            else:
                gap = rng.uniform(*GAPS[layout]) * unit
            # Keep the middles apart, or two 1s would merge into one stroke.
            x += before + max(gap, 0.3 * unit - (before + width) / 2)
        corners.append((x, unit * (1 + rng.uniform(-0.12, 0.12)) - height))
    corners = np.array(corners)
    # A row must read as a row: where narrow digits make it no wider than tall, spread them out.
    span = corners + boxes
    short = 1.15 * (span[:, 1].max() - corners[:, 1].min()) - (span[:, 0].max() - corners[:, 0].min())
    if short > 0 and len(boxes) > 1:
        corners[:, 0] += np.arange(len(boxes)) * short / (len(boxes) - 1)
    return corners


def drawn_glyphs(rng: np.random.Generator, digits: str, layout: str) -> list[list[np.ndarray]]:
    """Return the strokes of each digit of `digits` pen-drawn in a row, each at its own size (unit: its height)."""
    glyphs = []
    for digit in digits:
        strokes = digit_strokes(int(digit), rng)
        points = np.concatenate(strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        size = rng.uniform(0.7, 1.15) / max(float(high[1] - low[1]), 1e-6)
        glyphs.append([(stroke - low) * size for stroke in strokes])
    boxes = np.array([np.concatenate(glyph).max(axis=0) for glyph in glyphs])
    corners = row_corners(boxes, layout, rng)
    return [[stroke + corner for stroke in glyph] for glyph, corner in zip(glyphs, corners, strict=True)]


def drawn_row(rng: np.random.Generator, digits: str, layout: str) -> list[np.ndarray]:
    """Return the strokes of `digits` pen-drawn in a row, all digits' strokes in one list."""
    return [stroke for glyph in drawn_glyphs(rng, digits, layout) for stroke in glyph]


def ink_crop(digit: np.ndarray) -> np.ndarray:
    """Return an MNIST digit (uint8, white ink) cropped to its ink, as floats 0-1."""
    ink = digit.astype(np.float32) / 255
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    if rows.size == 0:
        return ink
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def mnist_glyphs(rng: np.random.Generator, images: np.ndarray) -> list[np.ndarray]:
    """Return MNIST digits as ink (floats 0-1) cropped to their ink, each at its own size, at four times MNIST's."""
    glyphs = []
    for image in images:
        crop = ink_crop(image)
        size = rng.uniform(0.7, 1.15) * 4  # at four times MNIST's size, so resizing stays smooth
        shape = (max(1, round(crop.shape[1] * size)), max(1, round(crop.shape[0] * size)))
        glyphs.append(np.asarray(Image.fromarray(crop, mode="F").resize(shape, Image.Resampling.BILINEAR)))
    return glyphs


def mnist_row(rng: np.random.Generator, images: np.ndarray, layout: str) -> np.ndarray:
    """Return MNIST digits in a row as ink (floats 0-1), each at its own size, at four times MNIST's scale."""
    return ink_row(rng, mnist_glyphs(rng, images), layout)


def ink_layers(rng: np.random.Generator, glyphs: list[np.ndarray], layout: str) -> list[np.ndarray]:
    """Return glyphs (ink, floats 0-1, cropped to their ink) placed in a row with `layout` gaps, one layer each."""
    boxes = np.array([glyph.shape[::-1] for glyph in glyphs], dtype=float)
    corners = np.round(row_corners(boxes, layout, rng)).astype(int)
    corners -= corners.min(axis=0)
    ends = corners + boxes.astype(int)
    layers = []
    for glyph, (left, top) in zip(glyphs, corners, strict=True):
        layer = np.zeros((ends[:, 1].max(), ends[:, 0].max()), dtype=np.float32)
        layer[top : top + glyph.shape[0], left : left + glyph.shape[1]] = glyph
        layers.append(layer)
    return layers


def ink_row(rng: np.random.Generator, glyphs: list[np.ndarray], layout: str) -> np.ndarray:
    """Return glyphs (ink, floats 0-1, cropped to their ink) placed in a row with `layout` gaps."""
    return np.maximum.reduce(ink_layers(rng, glyphs, layout))


def strokes_to_ink(strokes: list[np.ndarray], rng: np.random.Generator, *, height: int) -> np.ndarray:
    """Draw strokes with a round pen, `height` pixels for a digit's height; return ink (floats 0-1)."""
    return stroke_layers([strokes], rng, height=height)[0]


def stroke_layers(glyphs: list[list[np.ndarray]], rng: np.random.Generator, *, height: int) -> list[np.ndarray]:
    """Draw each glyph's strokes with the same round pen on a page of its own; return the pages (floats 0-1)."""
    points = np.concatenate([stroke for glyph in glyphs for stroke in glyph])
    low, high = points.min(axis=0), points.max(axis=0)
    scale = height / max(float(high[1] - low[1]), 1e-6) * 0.9
    pen = max(1, round(height * rng.uniform(0.05, 0.16)))
    margin = pen + 2
    size = np.ceil((high - low) * scale).astype(int) + 2 * margin
    layers = []
    for glyph in glyphs:
        image = Image.new("L", (int(size[0]), int(size[1])), 0)
        pencil = ImageDraw.Draw(image)
        for stroke in glyph:
            xy = [tuple(p) for p in (stroke - low) * scale + margin]
            pencil.line(xy, fill=255, width=pen, joint="curve")
            for x, y in (xy[0], xy[-1]):
                pencil.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
        layers.append(np.asarray(image, dtype=np.float32) / 255)
    return layers


def on_page(ink: np.ndarray, rng: np.random.Generator, height: int) -> np.ndarray:
    """Return `ink` scaled so a digit is about `height` px tall, on a blank page with a margin around it."""
    scale = height / max(1.0, ink.shape[0] / 1.2)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    big = np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BILINEAR))
    margin = rng.integers(height // 4 + 2, height + 3, 4)
    page = np.zeros((size[1] + margin[0] + margin[1], size[0] + margin[2] + margin[3]), dtype=np.float32)
    page[margin[0] : margin[0] + size[1], margin[2] : margin[2] + size[0]] = big
    return np.clip(page, 0, 1)


def render(ink: np.ndarray, rng: np.random.Generator, how: str) -> bytes:
    """Return the page of ink (floats 0-1) as file bytes, sent as `how` (see RENDERINGS)."""
    buffer = io.BytesIO()
    if how == "canvas":
        alpha = (ink * 255).astype(np.uint8)
        rgba = np.dstack([np.full_like(alpha, 17)] * 3 + [alpha])
        Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    elif how == "file":
        Image.fromarray((255 - ink * 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    elif how == "dark":  # light ink on a dark screen or board
        Image.fromarray((ink * 235 + 10).astype(np.uint8), mode="L").save(buffer, format="PNG")
    elif how == "photo":
        height, width = ink.shape
        light = np.linspace(rng.uniform(0.75, 0.9), 1.0, width)[None, :, None]
        paper = np.array(rng.integers(200, 245, 3)) * light + rng.normal(0, 5, (height, width, 1))
        colour = np.array([rng.integers(20, 60), rng.integers(30, 70), rng.integers(90, 160)])
        rgb = paper * (1 - ink[..., None]) + colour * ink[..., None]
        image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
        image.save(buffer, format="JPEG", quality=int(rng.integers(70, 92)))
    else:
        raise ValueError(f"Unknown rendering {how!r}; choose from {', '.join(RENDERINGS)}.")
    return buffer.getvalue()


@dataclass(frozen=True)
class WrittenNumber:
    """One picture of a number: what it says, how it was made, and its file bytes."""

    digits: str
    layout: str
    source: str  # "drawn" or "mnist"
    rendering: str
    data: bytes


def written_numbers(
    count: int,
    seed: int,
    *,
    lengths: tuple[int, int] = (2, 8),
    mnist_train: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[WrittenNumber]:
    """Return `count` written numbers, reproducibly for `seed`: layouts and renderings in turn, sources mixed.

    `mnist_train` is (images, labels) of MNIST training digits; without it every number is pen-drawn.
    """
    if mnist_train is not None:
        mnist_train = (training_images_only(mnist_train[0]), np.asarray(mnist_train[1]))
    rng = np.random.default_rng([0x4E554D, seed])
    out = []
    for index in range(count):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        layout = LAYOUTS[index % len(LAYOUTS)]
        how = RENDERINGS[(index // len(LAYOUTS)) % len(RENDERINGS)]
        height = int(rng.choice([24, 40, 64, 110, 180]))
        if mnist_train is not None and rng.random() < 0.5:
            images, labels = mnist_train
            picks = rng.integers(0, len(images), length)
            digits = "".join(str(int(labels[pick])) for pick in picks)
            ink, source = mnist_row(rng, images[picks], layout), "mnist"
        else:
            digits = "".join(str(int(d)) for d in rng.integers(0, 10, length))
            ink, source = strokes_to_ink(drawn_row(rng, digits, layout), rng, height=height), "drawn"
        out.append(WrittenNumber(digits, layout, source, how, render(on_page(ink, rng, height), rng, how)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write generated numbers as image files to look at.")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for index, number in enumerate(written_numbers(args.count, args.seed)):
        suffix = "jpg" if number.rendering == "photo" else "png"
        (folder / f"{index:04d}-{number.digits}-{number.layout}-{number.rendering}.{suffix}").write_bytes(number.data)
    print(f"wrote {args.count} numbers to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
