"""Digits drawn with a pen from stroke templates: a writer MNIST never saw.

MNIST's writers were American census staff and students writing on forms;
the people who use the product draw with a mouse, a finger or a stylus and
write 1s with a base, 7s with a bar, 4s open at the top. This module draws
such digits from hand-made stroke templates (several styles for each
digit), bends each one with a random affine transform and a little wobble,
and renders it with a round pen of random width on a canvas of random size,
position, colour and polarity. Nothing here comes from MNIST, so a model
scoring well on these has not merely learned MNIST's writers. The hands,
pen and canvases (`transform_strokes`, `render_strokes`) also draw the
non-digits of `training.outliers`, so the two differ in shape alone.

    python -m training.drawn_digits --count 20 --out /tmp/drawn   # write PNGs to look at
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> Stroke:
    """Points on an ellipse from `start` to `end` degrees; 0 is right, 90 is down (image coordinates)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


@functools.cache
def _templates() -> dict[int, list[list[Stroke]]]:
    """Return, per digit, its writing styles: each a list of strokes in a unit box (y down)."""
    return {
        0: [
            [arc(0.5, 0.5, 0.32, 0.46, -80, 285, 40)],
            [arc(0.5, 0.5, 0.4, 0.45, 265, -85, 40)],
        ],
        1: [
            [[(0.5, 0.03), (0.5, 0.97)]],
            [[(0.28, 0.25), (0.56, 0.03), (0.56, 0.97)]],
            [[(0.3, 0.22), (0.55, 0.03), (0.55, 0.95)], [(0.3, 0.96), (0.8, 0.96)]],
        ],
        2: [
            [[*arc(0.5, 0.3, 0.3, 0.27, 195, 375), (0.15, 0.96), (0.88, 0.96)]],
            [[*arc(0.48, 0.3, 0.32, 0.27, 190, 400), (0.3, 0.8), (0.14, 0.96), (0.88, 0.94)]],
        ],
        3: [
            [[*arc(0.5, 0.27, 0.28, 0.24, 200, 450), *arc(0.5, 0.73, 0.32, 0.24, 270, 520)]],
            [[(0.2, 0.04), (0.8, 0.04), (0.42, 0.42), *arc(0.48, 0.7, 0.33, 0.27, 250, 520)]],
        ],
        4: [
            [[(0.62, 0.03), (0.12, 0.66), (0.88, 0.66)], [(0.66, 0.3), (0.66, 0.98)]],
            [[(0.25, 0.03), (0.18, 0.58), (0.85, 0.58)], [(0.7, 0.03), (0.7, 0.98)]],
            [[(0.6, 0.03), (0.15, 0.68), (0.85, 0.68)], [(0.6, 0.03), (0.6, 0.98)]],
        ],
        5: [
            [[(0.8, 0.04), (0.3, 0.04), (0.27, 0.46), *arc(0.5, 0.68, 0.32, 0.28, 235, 520)]],
            [[(0.3, 0.04), (0.26, 0.46), *arc(0.5, 0.68, 0.32, 0.28, 235, 520)], [(0.3, 0.04), (0.82, 0.04)]],
        ],
        6: [
            [[(0.72, 0.03), (0.4, 0.3), (0.24, 0.6), *arc(0.5, 0.72, 0.27, 0.24, 180, 530)]],
            [[*arc(0.78, 0.62, 0.56, 0.6, 250, 180, 12), *arc(0.5, 0.72, 0.28, 0.25, 180, 540)]],
        ],
        7: [
            [[(0.12, 0.04), (0.88, 0.04), (0.4, 0.97)]],
            [[(0.12, 0.04), (0.88, 0.04), (0.4, 0.97)], [(0.38, 0.5), (0.8, 0.5)]],
            [[(0.15, 0.15), (0.18, 0.04), (0.88, 0.04), (0.55, 0.5), (0.45, 0.97)]],
        ],
        8: [
            [arc(0.5, 0.26, 0.24, 0.23, 0, 360), arc(0.5, 0.72, 0.3, 0.25, 0, 360)],
            [[*arc(0.5, 0.26, 0.24, 0.23, 90, 450), *arc(0.5, 0.73, 0.3, 0.24, 270, -90)]],
        ],
        9: [
            [arc(0.45, 0.3, 0.3, 0.26, 0, 360), [(0.75, 0.3), (0.72, 0.98)]],
            [[*arc(0.47, 0.3, 0.3, 0.26, 10, 370), (0.74, 0.72), *arc(0.5, 0.72, 0.24, 0.25, 0, 120, 8)]],
        ],
    }


def transform_strokes(strokes: list[Stroke], rng: np.random.Generator) -> list[np.ndarray]:
    """Slant, rotate, stretch and wobble strokes in the unit box the way hands differ."""
    angle = math.radians(rng.uniform(-12, 12))
    shear = rng.uniform(-0.3, 0.15)  # most people lean their digits right
    aspect = rng.uniform(0.75, 1.25)
    rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    matrix = rotate @ np.array([[aspect, shear], [0.0, 1.0]])
    out = []
    for stroke in strokes:
        points = np.array(stroke) - 0.5
        wobble = np.cumsum(rng.normal(0, 0.006, points.shape), axis=0)
        out.append((points + wobble) @ matrix.T)
    return out


def digit_strokes(digit: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Return `digit` in a random style, bent by a random hand, as strokes to render."""
    styles = _templates()[digit]
    return transform_strokes(styles[rng.integers(len(styles))], rng)


def pick_colours(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return (paper, ink) RGB colours: mostly dark ink on light paper, sometimes white on black."""
    dark_on_light = rng.random() < 0.8
    paper = tuple(int(v) for v in rng.integers(215, 256, 3)) if dark_on_light else (0, 0, 0)
    ink = tuple(int(v) for v in rng.integers(0, 90, 3)) if dark_on_light else (255, 255, 255)
    return paper, ink


def render_strokes(
    strokes: list[np.ndarray],
    rng: np.random.Generator,
    *,
    height: tuple[float, float] = (0.3, 0.85),
    pen: tuple[float, float] = (0.03, 0.16),
    wide: float = 1.0,
    longest: bool = False,
) -> Image.Image:
    """Draw strokes with a round pen on a canvas of random size, place and colours.

    `height` is the drawing's height as a share of the canvas's (its longest side's, with
    `longest`: a "-" fitted by its height would fill the page), `pen` the pen's width as a
    share of that, `wide` the canvas's width over its height.
    """
    side = int(rng.integers(160, 641))
    size = np.array([round(side * wide), side])  # width, height
    tall = side * rng.uniform(*height)
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    width = max(1, int(round(tall * rng.uniform(*pen))))
    # The pen's round tip reaches half its width past the stroke, and Pillow's wide lines a pixel more:
    # keep that much paper at every edge.
    margin = width / 2 + 2
    extent = np.maximum(high - low, 1e-6)
    scale = min(tall, side - 2 * margin) / (extent.max() if longest else extent[1])
    scale = min(scale, (size[0] - 2 * margin) / extent[0])
    room = np.maximum(size - 2 * margin - extent * scale, 0)
    origin = margin + rng.uniform(0, 1, 2) * room

    paper, ink = pick_colours(rng)
    image = Image.new("RGB", (int(size[0]), side), paper)
    pencil = ImageDraw.Draw(image)
    for stroke in strokes:
        xy = [tuple(p) for p in (stroke - low) * scale + origin]
        pencil.line(xy, fill=ink, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round pen tips
            pencil.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink)
    return image


def png_bytes(image: Image.Image) -> bytes:
    """Return the image encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def draw_digit(digit: int, rng: np.random.Generator) -> bytes:
    """Return a PNG of `digit` in a random style, pen, canvas and position."""
    return png_bytes(render_strokes(digit_strokes(digit, rng), rng))


def drawn_digits(count: int, seed: int = 0) -> tuple[list[bytes], list[int]]:
    """Return `count` drawn digit PNGs and their labels, the digits in turn, reproducibly for `seed`."""
    rng = np.random.default_rng(seed)
    labels = [index % 10 for index in range(count)]
    return [draw_digit(label, rng) for label in labels], labels


def drawn_inputs(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return `count` drawn digits as the model sees them, uint8 (N, 28, 28), and their labels."""
    from training.preprocessing import preprocess_bytes

    images, labels = drawn_digits(count, seed)
    return np.stack([preprocess_bytes(image) for image in images]), np.array(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write pen-drawn digits as PNG files.")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = drawn_digits(args.count, args.seed)
    for index, (data, label) in enumerate(zip(images, labels, strict=True)):
        (out / f"{index:04d}-{label}.png").write_bytes(data)
    print(f"wrote {len(images)} digits to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
