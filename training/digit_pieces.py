"""Pieces of digits for the not-a-digit detector: fragments of strokes and crops that must not read as a digit.

A piece of a 4 can still be a 1, and a cut 0 can still be a 0: every maker
here draws again until the picture passes `reads_as_digit` (or the caller's
own test), so the detector is never taught that a digit is not one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from training.drawn_digits import digit_strokes, render_strokes
from training.preprocessing import EmptyImage, preprocess_image

Maker = Callable[[np.random.Generator, "np.ndarray | None"], Image.Image]


def flood(seed: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Return the pixels of `allowed` connected to `seed` (4-neighbours): fine at model size, 28x28."""
    reached = seed & allowed
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= allowed
        if (grown == reached).all():
            return reached
        reached = grown


def has_hole(mask: np.ndarray) -> bool:
    """Whether background is enclosed by ink (a loop, as in 0, 6, 8, 9)."""
    border = np.zeros_like(mask)
    border[[0, -1], :] = border[:, [0, -1]] = True
    outside = flood(border, ~mask)
    return int((~mask & ~outside).sum()) >= 3


def ink_pieces(mask: np.ndarray) -> int:
    """Return how many separate pieces of ink (of 4 pixels or more) a mask holds."""
    left, count = mask.copy(), 0
    while left.any():
        seed = np.zeros_like(mask)
        seed.flat[int(np.flatnonzero(left)[0])] = True
        piece = flood(seed, mask)
        count += int(piece.sum()) >= 4
        left &= ~piece
    return count


def reads_as_digit(image: Image.Image) -> bool:
    """Whether a piece of a digit would still pass for one: an upright lone stroke (1) or a loop (0).

    Only these two are caught: what else a fragment may resemble needs a reader to judge.
    """
    try:
        pixels = preprocess_image(image)
    except EmptyImage:
        return True  # nothing the detector could learn from
    mask = pixels > 96
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return True
    if cols[-1] - cols[0] + 1 < 0.6 * (rows[-1] - rows[0] + 1):
        return True
    if upright_line(mask):
        return True
    # Pieces side by side (the top of an open 4 is "11") would teach that several digits are none.
    return has_hole(mask) or ink_pieces(mask) > 1


def upright_line(mask: np.ndarray) -> bool:
    """Whether the ink is one straight line within 50 degrees of upright, as a slanted 1 is."""
    ys, xs = np.nonzero(mask)
    spread = np.cov(np.vstack([xs, ys]).astype(float)) if xs.size > 2 else np.eye(2)
    values, vectors = np.linalg.eigh(spread)  # ascending: the line's own direction comes last
    thin = values[0] < 0.08 * values[1]  # width under some 0.28 of length
    direction = vectors[:, 1]
    return bool(thin and abs(direction[0]) < abs(direction[1]) * math.tan(math.radians(50)))


def unlike_a_digit(
    make: Callable[[], Image.Image], tries: int = 40, reads_as_digit: Callable[[Image.Image], bool] = reads_as_digit
) -> Image.Image:
    """Return the first picture `make` draws that does not read as a digit (the last one after `tries`)."""
    for _ in range(tries - 1):
        image = make()
        if not reads_as_digit(image):
            return image
    return make()  # not met in practice; a picture rather than an error keeps the output reproducible


def fragment(stroke: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a random 15-35% of a stroke's length, cut where a pen lifted early or started late."""
    steps = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    length = along[-1] * rng.uniform(0.15, 0.35)
    start = rng.uniform(0, along[-1] - length)
    keep = np.linspace(start, start + length, 24)
    return np.column_stack([np.interp(keep, along, stroke[:, 0]), np.interp(keep, along, stroke[:, 1])])


def plain_fragment(points: np.ndarray) -> bool:
    """Whether a fragment is a gentle curve or line that no digit is made of alone.

    A corner keeps the shape of the digit it came from (the bar and leg of a 7, the neck of a 2), a
    curl past 200 degrees is most of a 0, 6 or 9, and a narrow piece, or a straight one within 50 degrees
    of upright, is a 1.
    """
    steps = np.diff(points, axis=0)
    heading = np.unwrap(np.arctan2(steps[:, 1], steps[:, 0]))
    if np.abs(heading[2:] - heading[:-2]).max(initial=0) > math.radians(70):
        return False
    if abs(heading[-1] - heading[0]) > math.radians(200):
        return False
    extent = np.ptp(points, axis=0)
    if extent[0] < 0.7 * extent[1]:  # narrow, like a 1 or a (
        return False
    chord = points[-1] - points[0]
    length = float(np.linalg.norm(chord))
    offsets = points - points[0]
    bulge = np.abs(offsets[:, 0] * chord[1] - offsets[:, 1] * chord[0]).max() / max(length, 1e-9) ** 2
    upright = abs(chord[0]) < abs(chord[1]) * math.tan(math.radians(50))
    return not (bulge < 0.1 and upright)


def partial(digits: tuple[int, ...]) -> Maker:
    """Return a maker drawing part of one stroke of a drawn digit among `digits`."""

    def piece(rng: np.random.Generator) -> np.ndarray:
        for _ in range(100):
            strokes = digit_strokes(int(rng.choice(digits)), rng)
            lengths = [np.linalg.norm(np.diff(s, axis=0), axis=1).sum() for s in strokes]
            stroke = strokes[int(np.argmax(np.array(lengths) * rng.uniform(0.5, 1, len(strokes))))]
            piece_of_stroke = fragment(stroke, rng)
            if plain_fragment(piece_of_stroke):
                break
        return piece_of_stroke

    return lambda rng, mnist: unlike_a_digit(lambda: render_strokes([piece(rng)], rng, longest=True))


def whole_digit(rng: np.random.Generator) -> Image.Image:
    """Return one pen-drawn digit to cut: not a 1 (any piece of it is a 1) nor a 7 (cut below its bar, still a 7).

    Not MNIST's: half of a 28-pixel digit, blown up, is blurred as no whole digit is, and a detector
    would learn the blur instead of the shape.
    """
    return render_strokes(digit_strokes(int(rng.choice([0, 2, 3, 4, 5, 6, 8, 9])), rng), rng)


def cut(image: Image.Image, rng: np.random.Generator, part: str) -> Image.Image:
    """Return the picture cut through its ink: a left/right or top/bottom half, or a corner.

    At most half of the ink's box is kept: with more, people still read the digit (a 4 cut below its bar).
    """
    grey = np.asarray(image.convert("L"), dtype=np.int16)
    ink = np.abs(grey - int(np.median(grey))) > 64
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    keep_left, keep_top = rng.random(2) < 0.5
    share = rng.uniform(0.3, 0.5, 2)
    x = int(cols[0] + (cols[-1] - cols[0]) * (share[0] if keep_left else 1 - share[0]))
    y = int(rows[0] + (rows[-1] - rows[0]) * (share[1] if keep_top else 1 - share[1]))
    box = [0, 0, image.width, image.height]
    if part in ("sides", "corner"):
        box[2 if keep_left else 0] = x
    if part in ("ends", "corner"):
        box[3 if keep_top else 1] = y
    return image.crop(tuple(box))


def crop(part: str) -> Maker:
    return lambda rng, mnist: unlike_a_digit(lambda: cut(whole_digit(rng), rng, part))
