"""Pieces of written numbers cut the way the segmenter cuts them, labelled by the ink they hold.

The segmenter (`training.segmentation`) cuts touching digits at columns and
keeps the cut whose pieces read best as single digits, the detector's
`digit` probability weighing in. A detector that has seen only whole digits,
whole non-digits and whole rows reads the flag cut off a 1, or a 5 with the
loop of the 9 beside it, as a fine digit. This module writes numbers with
each digit's ink on a layer of its own (`training.numbers`, training seeds
only), cuts them between columns near and far from where the digits meet,
and labels each piece by the ink it holds:

- a digit: nearly all of one digit's ink and little of its neighbours';
- several digits: most of two digits or more;
- not a digit: part of one digit, or a digit with a large part of another.

Pieces in between are left out: they are for the threshold to decide.
"""

from __future__ import annotations

import numpy as np

from training.detector import DIGIT, NOT_A_DIGIT, SEVERAL_DIGITS
from training.numbers import drawn_glyphs, ink_layers, mnist_glyphs, stroke_layers
from training.preprocessing import EmptyImage, center_digit

WHOLE = 0.92  # share of a digit's ink a piece must hold to hold the digit
FOREIGN = 0.1  # share of a one-digit piece's ink that may come from its neighbours
MOST = 0.6  # share of each digit's ink a several-digit piece holds
PART = 0.7  # a piece holding less than this of its main digit, and no whole one, is a fragment
PIECE_WIDTH = (0.22, 1.15)  # in heights of the writing, as the segmenter's spans
LAYOUTS = ("close", "touching", "touching", "overlapping")


def number_layers(
    rng: np.random.Generator, mnist: tuple[np.ndarray, np.ndarray] | None
) -> tuple[list[np.ndarray], list[int]]:
    """Return one ink layer (floats 0-1) per digit of a random number, and its digits.

    Half the numbers are of MNIST training digits (`mnist`: images and labels) when given, the rest pen-drawn.
    """
    length = int(rng.integers(2, 5))
    layout = LAYOUTS[int(rng.integers(len(LAYOUTS)))]
    if mnist is not None and rng.random() < 0.5:
        picks = rng.integers(0, len(mnist[0]), length)
        return ink_layers(rng, mnist_glyphs(rng, mnist[0][picks]), layout), [int(d) for d in mnist[1][picks]]
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, length))
    layers = stroke_layers(drawn_glyphs(rng, digits, layout), rng, height=int(rng.integers(32, 72)))
    return layers, [int(d) for d in digits]


def _cuts(layers: list[np.ndarray], height: float, rng: np.random.Generator) -> list[int]:
    """Return columns to cut at: the row's ends, near where neighbours meet, and a few anywhere."""
    width = layers[0].shape[1]
    spans = [np.flatnonzero(layer.max(axis=0) > 0.1) for layer in layers]
    meets = [(a[-1] + b[0]) / 2 for a, b in zip(spans, spans[1:], strict=False) if a.size and b.size]
    near = [m + rng.normal(0, 0.12 * height) for m in meets for _ in range(2)]
    anywhere = rng.uniform(0, width, len(layers))
    return sorted({0, width, *(int(np.clip(round(x), 1, width - 1)) for x in [*meets, *near, *anywhere])})


def label_piece(held: np.ndarray) -> int | None:
    """Return the class of a piece from the share of each digit's ink it holds (and the ink itself), or None.

    `held` is (shares, inks): per digit, the share of its ink inside the piece and the amount of it there.
    """
    shares, inks = held
    main = int(np.argmax(inks))
    foreign = 1 - inks[main] / max(float(inks.sum()), 1e-6)
    if (shares >= MOST).sum() >= 2:
        return SEVERAL_DIGITS
    if shares[main] >= WHOLE and foreign <= FOREIGN:
        return DIGIT
    if shares[main] < PART or foreign > 2.5 * FOREIGN:
        return NOT_A_DIGIT
    return None


def number_pieces(
    count: int, seed: int, *, mnist: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return about `count` pieces of generated numbers as model inputs, uint8 (N, 28, 28), their classes,
    and the digit each holds most of (the digit's label for a piece of class DIGIT)."""
    rng = np.random.default_rng([0x5049, seed])
    inputs, classes, digits = [], [], []
    while len(inputs) < count:
        layers, labels = number_layers(rng, mnist)
        totals = np.array([layer.sum() for layer in layers])
        ink = np.maximum.reduce(layers) * 255
        rows = np.flatnonzero(ink.max(axis=1) > 0.1 * 255)
        height = float(rows[-1] - rows[0] + 1)
        cuts = _cuts(layers, height, rng)
        for a, b in ((a, b) for i, a in enumerate(cuts) for b in cuts[i + 1 :]):
            if not PIECE_WIDTH[0] * height <= b - a <= PIECE_WIDTH[1] * height:
                continue
            held = np.array([layer[:, a:b].sum() for layer in layers])
            label = label_piece((held / np.maximum(totals, 1e-6), held))
            if label is None:
                continue
            try:
                inputs.append(center_digit(ink[:, a:b]))
            except EmptyImage:
                continue
            classes.append(label)
            digits.append(labels[int(np.argmax(held))])
    return np.stack(inputs[:count]), np.array(classes[:count]), np.array(digits[:count])
