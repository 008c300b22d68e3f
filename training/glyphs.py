"""Made-up glyphs: strokes combined the way no alphabet does, for the not-a-digit detector to learn from.

Templates of letters, symbols and shapes cover what people draw often, but
the pictures that judge the detector are of kinds it never saw. A detector
that has only seen fifty templates learns those fifty; one that has seen
thousands of made-up glyphs learns what a digit is not. Three ways to make
one, each returning strokes in the unit box (y down), ready for
`training.drawn_digits.transform_strokes` and `render_strokes`:

- `borrowed`: two to four strokes taken from different templates, each
  moved and resized on its own (the bar of an A under the bowl of a P);
- `primitives`: two to five lines, arcs, rings, dots and zigzags;
- `warped`: a whole template bent by a smooth random field, with a stroke
  dropped or a primitive added now and then.

Any of these may come out looking like a digit now and then (a ring above a
stroke is a 9): the caller filters what it can tell, and the rest is the
noise every hand-labelled set has too.
"""

from __future__ import annotations

import math

import numpy as np

Strokes = list[np.ndarray]


def _fit(stroke: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Return `stroke` scaled into `box` (x, y, width, height), keeping its proportions."""
    low = stroke.min(axis=0)
    extent = np.maximum(stroke.max(axis=0) - low, 1e-6)
    scale = min(box[2] / extent[0], box[3] / extent[1])
    placed = (stroke - low) * scale
    return placed + box[:2] + (box[2:] - extent * scale) / 2


def _random_box(rng: np.random.Generator) -> np.ndarray:
    width, height = rng.uniform(0.25, 1.0, 2)
    return np.array([rng.uniform(0, 1 - width), rng.uniform(0, 1 - height), width, height])


def borrowed(rng: np.random.Generator, pool: list[np.ndarray]) -> Strokes:
    """Return 2-4 strokes drawn from `pool`, each placed in a box of its own within the unit box."""
    count = min(int(rng.integers(2, 5)), len(pool))
    picks = rng.choice(len(pool), size=count, replace=False)
    return [_fit(np.asarray(pool[int(index)], dtype=float), _random_box(rng)) for index in picks]


def _segment(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 1, (2, 2))


def _arc(rng: np.random.Generator) -> np.ndarray:
    centre = rng.uniform(0.2, 0.8, 2)
    radii = rng.uniform(0.1, 0.45, 2)
    start = rng.uniform(0, 360)
    sweep = rng.uniform(60, 300) * rng.choice([-1, 1])
    angles = np.radians(np.linspace(start, start + sweep, 32))
    return centre + radii * np.column_stack([np.cos(angles), np.sin(angles)])


def _ring(rng: np.random.Generator) -> np.ndarray:
    centre = rng.uniform(0.2, 0.8, 2)
    radii = rng.uniform(0.05, 0.22, 2)
    angles = np.radians(np.linspace(0, 360, 33))
    return centre + radii * np.column_stack([np.cos(angles), np.sin(angles)])


def _dot(rng: np.random.Generator) -> np.ndarray:
    at = rng.uniform(0.05, 0.95, 2)
    return np.array([at, at + 0.01])


def _polyline(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 1, (int(rng.integers(3, 6)), 2))


def _zigzag(rng: np.random.Generator) -> np.ndarray:
    teeth = int(rng.integers(3, 8))
    x = np.linspace(0, 1, teeth)
    y = np.where(np.arange(teeth) % 2 == 0, 0.0, 1.0)
    return _fit(np.column_stack([x, y]), _random_box(rng))


PRIMITIVES = (_segment, _arc, _ring, _dot, _polyline, _zigzag)


def primitives(rng: np.random.Generator) -> Strokes:
    """Return 2-5 primitives (lines, arcs, rings, dots, polylines, zigzags) thrown together."""
    count = int(rng.integers(2, 6))
    return [PRIMITIVES[int(rng.integers(len(PRIMITIVES)))](rng) for _ in range(count)]


def _bend(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """Move every point by a smooth random field: two waves across the box with random phases."""
    strength = rng.uniform(0.06, 0.16)
    frequency = rng.uniform(1.0, 3.0, (2, 2))
    phase = rng.uniform(0, 2 * math.pi, (2, 2))

    def field(points: np.ndarray) -> np.ndarray:
        waves = np.sin(points @ frequency * 2 * math.pi + phase[0]) + np.cos(points[:, ::-1] @ frequency + phase[1])
        return points + strength * waves / 2

    return [field(np.asarray(stroke, dtype=float)) for stroke in strokes]


def warped(rng: np.random.Generator, template: Strokes) -> Strokes:
    """Return `template` bent out of shape, with one stroke dropped or one primitive added half the time."""
    strokes = _bend(template, rng)
    change = rng.random()
    if change < 0.25 and len(strokes) > 1:
        strokes.pop(int(rng.integers(len(strokes))))
    elif change < 0.5:
        strokes.append(PRIMITIVES[int(rng.integers(len(PRIMITIVES)))](rng))
    return strokes
